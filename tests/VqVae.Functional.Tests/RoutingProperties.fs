/// The gradient-routing properties of DESIGN §8, written as functions of the loss (or quantizer)
/// implementation so that TeethTests can run them against deliberately wrong variants.
module VqVae.Functional.Tests.RoutingProperties

open System
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators

/// A loss implementation: model → batch → named terms (β and the loss kinds come from the model's config).
type LossFn = VqVaeModel -> Tensor -> LossTerms

/// A quantizer implementation: codebook [K,D] → z_e [B,D,H,W] → result.
type QuantizeFn = Tensor -> Tensor -> Quantized

let correctLoss : LossFn = fun m x -> VqVaeModel.LossTerms(m, x)
let correctQuantize : QuantizeFn = fun cb ze -> Quantizer.Quantize(cb, ze)

let private reach (loss: LossFn) x term model =
    Routes.Reach(Func<_, _>(fun m -> (loss m x).Term term), model)

/// recon reaches the encoder and the decoder but never the codebook; the codebook term reaches only
/// the codebook; the commitment term only the encoder. Exactly: null gradients, not ≈ 0.
let termsReachExactlyTheirGroups (loss: LossFn) (c: ModelCase) =
    let m, x = modelOf c, batchOf c
    let r t = reach loss x t m
    let recon, codebook, commitment = r "recon", r "codebook", r "commitment"
    (recon = GroupReach(true, false, true) && codebook = GroupReach(false, true, false) && commitment = GroupReach(true, false, false))
    |> Prop.label (sprintf "recon %O, codebook %O, commitment %O" recon codebook commitment)

/// Leaf by leaf: decoder grads of total = decoder grads of recon; encoder grads of total =
/// encoder grads of recon + β·encoder grads of commitment; codebook grads of total = codebook
/// grads of the codebook term (relative tolerance 1e-5 of the largest magnitude involved).
let totalGradientIsTheWeightedSumOfTermGradients (loss: LossFn) (c: ModelCase) =
    let m, x = modelOf c, batchOf c
    let g t = gradLeaves m (gradOf (fun m -> (loss m x).Term t) m)
    let beta = c.Config.Beta
    let rows = List.zip3 (g "total") (g "recon") (List.zip (g "codebook") (g "commitment"))
    let bad =
        rows |> List.choose (fun ((name, group, total), (_, _, recon), ((_, _, cb), (_, _, cm))) ->
            let ok =
                match group, total, recon, cb, cm with
                | ParameterGroup.Decoder, Some t, Some r, _, _ -> closeArrays 1e-6 1e-12 (t.ToArray()) (r.ToArray())
                | ParameterGroup.Encoder, Some t, Some r, _, Some cm ->
                    // total's backward adds both paths before the encoder's own backward, so its
                    // rounding is relative to the terms, not to their sum, which can cancel.
                    let ra, ca = r.ToArray(), cm.ToArray() |> Array.map (fun v -> beta * v)
                    let scale = List.max [ maxAbs ra; maxAbs ca; maxAbs (t.ToArray()) ]
                    maxAbsDiff (t.ToArray()) (Array.map2 (+) ra ca) <= 1e-5 * scale + 1e-12
                | ParameterGroup.Codebook, Some t, _, Some cb, _ -> closeArrays 1e-6 1e-12 (t.ToArray()) (cb.ToArray())
                | ParameterGroup.Buffer, None, _, _, _ -> true
                | _ -> false
            if ok then None else Some name)
    bad.IsEmpty |> Prop.label (sprintf "β = %g; leaves where total ≠ its terms: %A" beta bad)

/// Straight-through: d recon / d z_e equals d recon / d (decoder input), bitwise; the decoder part
/// is differentiated as a function of its input.
let straightThroughCopiesTheDecoderInputGradient (quantize: QuantizeFn) (c: ModelCase) =
    let m, x = modelOf c, batchOf c
    let ze = VqVaeModel.Encode(m, x).NoDiff()
    let cb = m.Codebook.Embedding
    let recon (d: Tensor) = Loss.Reconstruction(c.Config.Reconstruction, m.Decoder.Apply d, x)
    let gZe = Grad.Gradient(Func<_, _>(fun z -> recon (quantize cb z).DecoderInput), ze)
    let gIn = Grad.Gradient(Func<_, _> recon, (quantize cb ze).DecoderInput.NoDiff())
    match gZe, gIn with
    | null, _ -> false |> Prop.label "d recon / d z_e is null: no gradient reaches the encoder output"
    | _, null -> false |> Prop.label "d recon / d decoder input is null"
    | a, b -> (a.ToArray() = b.ToArray()) |> Prop.label (sprintf "max |difference| = %g" (maxAbsDiff (a.ToArray()) (b.ToArray())))

/// With the EMA quantizer the codebook never receives a gradient (neither from total nor from any
/// term), and total still reaches the encoder and the decoder.
let emaCodebookNeverReceivesAGradient (loss: LossFn) (c: ModelCase) =
    let m, x = modelOf c, batchOf c
    let r t = reach loss x t m
    let total = r "total"
    (total = GroupReach(true, false, true) && not (r "codebook").Codebook && not (r "recon").Codebook)
    |> Prop.label (sprintf "total %O" total)
