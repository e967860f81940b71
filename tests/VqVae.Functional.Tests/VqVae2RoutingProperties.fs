/// The VQ-VAE-2's gradient-routing properties, per level, written as functions of the loss (and quantizer)
/// implementation so that VqVae2TeethTests can run them against deliberately wrong variants.
module VqVae.Functional.Tests.VqVae2RoutingProperties

open System
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Hierarchical
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.RoutingProperties
open VqVae.Functional.Tests.VqVae2Generators

/// A loss implementation: model → batch → named terms per level.
type LossFn2 = VqVae2Model -> Tensor -> VqVae2LossTerms

let correctLoss2 : LossFn2 = fun m x -> VqVae2Model.LossTerms(m, x)

/// The forward pass recomposed from the library's public stages, with each piece replaceable: the top and
/// bottom quantizers, what dec_t is fed from the top quantizer's result, the codebook and commitment terms.
let composeLoss2With (total: VqVae2Config -> Tensor -> Tensor -> Tensor -> Tensor) (quantizeTop: QuantizeFn) (quantizeBottom: QuantizeFn)
                     (decTopInput: Quantized -> Tensor) (codebookTerm: Tensor -> Tensor -> Tensor) (commitmentTerm: Tensor -> Tensor -> Tensor) : LossFn2 = fun m x ->
    let cfg = m.Config
    let f = VqVae2Model.BottomFeatures(m, VqVae2Model.ModelInput(cfg, x))
    let qt = quantizeTop (m.Top.ForQuantizer cfg.Quantizer) (VqVae2Model.TopLatents(m, f))
    let qb = quantizeBottom (m.Bottom.ForQuantizer cfg.Quantizer) (VqVae2Model.BottomLatents(m, f, decTopInput qt))
    let xHat = VqVae2Model.Decode(m, qt.DecoderInput, qb.DecoderInput, Nullable x.Shape[2], Nullable x.Shape[3])
    let recon = Loss.Reconstruction(cfg.Reconstruction, xHat, x)
    let cbT, cbB = codebookTerm qt.ZQ qt.ZE, codebookTerm qb.ZQ qb.ZE
    let cmT, cmB = commitmentTerm qt.ZE qt.ZQ, commitmentTerm qb.ZE qb.ZQ
    VqVae2LossTerms(recon, cbT, cbB, cmT, cmB, total cfg recon (cbT + cbB) (cmT + cmB), qt, qb, xHat)

/// The total as the library forms it: recon + codebooks + β·commitments (EMA: recon + β·commitments).
let libraryTotal (cfg: VqVae2Config) recon codebooks commitments = Loss.Total(cfg.Quantizer, cfg.Beta, recon, codebooks, commitments)

let composeLoss2 quantizeTop quantizeBottom decTopInput codebookTerm commitmentTerm =
    composeLoss2With libraryTotal quantizeTop quantizeBottom decTopInput codebookTerm commitmentTerm

let straightThroughInput (q: Quantized) = q.DecoderInput

let composedCorrectly2 =
    composeLoss2 correctQuantize correctQuantize straightThroughInput (fun zq ze -> Loss.Codebook(zq, ze)) (fun ze zq -> Loss.Commitment(ze, zq))

let private reach2 (loss: LossFn2) x term model =
    VqVae2Routes.Reach(Func<_, _>(fun m -> (loss m x).Term term), model)

/// A reach pattern from the groups that are reached (the others are not).
let private reaching (groups: LevelGroup list) =
    let has g = List.contains g groups
    LevelReach(has LevelGroup.BottomEncoder, has LevelGroup.TopEncoder, has LevelGroup.TopCodebook,
               has LevelGroup.TopDecoder, has LevelGroup.BottomCodebook, has LevelGroup.Decoder)

/// Each term reaches exactly: recon → every encoder part (enc_b, enc_t/quantize_conv_t, dec_t/quantize_conv_b) and
/// the decoder, through both straight-through copies, never a codebook; codebook_t → the top codebook only;
/// codebook_b → the bottom codebook only; commitment_t → what computes z_e,t (enc_t/quantize_conv_t and enc_b below
/// it) only; commitment_b → what computes z_e,b (enc_b, dec_t/quantize_conv_b, and through dec_t and the top's
/// straight-through copy enc_t/quantize_conv_t) only, never a codebook or the decoder.
let termsReachExactlyTheirLevels (loss: LossFn2) (c: VqVae2Case) =
    let m, x = model2Of c, batch2Of c
    let r t = reach2 loss x t m
    let expected =
        [ "recon", reaching [ LevelGroup.BottomEncoder; LevelGroup.TopEncoder; LevelGroup.TopDecoder; LevelGroup.Decoder ]
          "codebook_t", reaching [ LevelGroup.TopCodebook ]
          "codebook_b", reaching [ LevelGroup.BottomCodebook ]
          "commitment_t", reaching [ LevelGroup.BottomEncoder; LevelGroup.TopEncoder ]
          "commitment_b", reaching [ LevelGroup.BottomEncoder; LevelGroup.TopEncoder; LevelGroup.TopDecoder ] ]
    let wrong = expected |> List.choose (fun (t, e) -> let a = r t in if a = e then None else Some (sprintf "%s reaches %O" t a))
    wrong.IsEmpty |> Prop.label (String.Join("; ", wrong))

/// The top codebook is reached by the codebook_t term and by nothing else: no other term reaches it, and the
/// total's gradient on it is codebook_t's (relative 1e-6).
let topCodebookIsReachedByNothingElse (loss: LossFn2) (c: VqVae2Case) =
    let m, x = model2Of c, batch2Of c
    let others = [ "recon"; "codebook_b"; "commitment_t"; "commitment_b" ] |> List.filter (fun t -> (reach2 loss x t m).TopCodebook)
    let g t = snd (Grad.ValueAndGrad(Func<_, _>(fun m -> (loss m x).Term t), m).ToTuple())
    let total, own = g "total", g "codebook_t"
    let same =
        match total[VqVae2Model.TopCodebookName], own[VqVae2Model.TopCodebookName] with
        | null, _ | _, null -> false
        | a, b -> closeArrays 1e-6 1e-12 (a.ToArray()) (b.ToArray())
    (others.IsEmpty && same) |> Prop.label (sprintf "other terms reaching it: %A; total's gradient = codebook_t's: %b" others same)

/// Straight-through at both levels: d recon / d z_e equals d recon / d (that level's decoder input), bitwise, for
/// the top level (whose decoder input feeds both dec_t and upsample_t) and for the bottom level.
let straightThroughAtBothLevels (quantizeTop: QuantizeFn) (quantizeBottom: QuantizeFn) (c: VqVae2Case) =
    let m, x = model2Of c, batch2Of c
    let cfg = m.Config
    let cbT, cbB = m.Top.Codebook.Embedding, m.Bottom.Codebook.Embedding
    let f = VqVae2Model.BottomFeatures(m, VqVae2Model.ModelInput(cfg, x)).NoDiff()
    let recon (qtIn: Tensor) (qbIn: Tensor) =
        Loss.Reconstruction(cfg.Reconstruction, VqVae2Model.Decode(m, qtIn, qbIn, Nullable x.Shape[2], Nullable x.Shape[3]), x)
    let fromTop (qtIn: Tensor) = recon qtIn (quantizeBottom cbB (VqVae2Model.BottomLatents(m, f, qtIn))).DecoderInput
    let zeT = VqVae2Model.TopLatents(m, f).NoDiff()
    let qtIn = (quantizeTop cbT zeT).DecoderInput.NoDiff()
    let zeB = VqVae2Model.BottomLatents(m, f, qtIn).NoDiff()
    let pairs =
        [ "top", Grad.Gradient(Func<_, _>(fun z -> fromTop (quantizeTop cbT z).DecoderInput), zeT), Grad.Gradient(Func<_, _> fromTop, qtIn)
          "bottom", Grad.Gradient(Func<_, _>(fun z -> recon qtIn (quantizeBottom cbB z).DecoderInput), zeB),
                    Grad.Gradient(Func<_, _>(recon qtIn), (quantizeBottom cbB zeB).DecoderInput.NoDiff()) ]
    let bad =
        pairs |> List.choose (fun (level, gZe, gIn) ->
            match gZe, gIn with
            | null, _ -> Some (sprintf "%s: d recon / d z_e is null" level)
            | _, null -> Some (sprintf "%s: d recon / d decoder input is null" level)
            | a, b when a.ToArray() <> b.ToArray() -> Some (sprintf "%s: max |difference| %g" level (maxAbsDiff (a.ToArray()) (b.ToArray())))
            | _ -> None)
    bad.IsEmpty |> Prop.label (String.Join("; ", bad))

/// With EMA quantizers neither codebook receives a gradient from any term, and the total still reaches every
/// encoder part and the decoder.
let emaCodebooksNeverReceiveAGradient (loss: LossFn2) (c: VqVae2Case) =
    let m, x = model2Of c, batch2Of c
    let reached = VqVae2LossTerms.Names |> Seq.map (fun t -> t, reach2 loss x t m) |> List.ofSeq
    let codebook = reached |> List.filter (fun (_, r) -> r.TopCodebook || r.BottomCodebook) |> List.map fst
    let total = reach2 loss x "total" m
    (codebook.IsEmpty && total = reaching [ LevelGroup.BottomEncoder; LevelGroup.TopEncoder; LevelGroup.TopDecoder; LevelGroup.Decoder ])
    |> Prop.label (sprintf "terms reaching a codebook: %A; total %O" codebook total)

/// Leaf by leaf, the total's gradient is recon's + codebook_t's + codebook_b's + β·(commitment_t's + commitment_b's)
/// (a missing gradient counts as 0; tolerance 1e-5 of the largest magnitude involved, since the sum can cancel).
let totalIsTheWeightedSumOfLevelTerms (loss: LossFn2) (c: VqVae2Case) =
    let m, x = model2Of c, batch2Of c
    let beta = c.Config.Beta
    let g t =
        let grads = snd (Grad.ValueAndGrad(Func<_, _>(fun m -> (loss m x).Term t), m).ToTuple())
        [ for i in 0 .. grads.Count - 1 -> grads[i].Name, (match grads[i].Gradient with null -> None | t -> Some (t.ToArray())) ]
    let total = g "total"
    let parts = [ "recon", 1.0f; "codebook_t", 1.0f; "codebook_b", 1.0f; "commitment_t", beta; "commitment_b", beta ] |> List.map (fun (t, w) -> g t, w)
    let bad =
        total |> List.mapi (fun i (name, tg) ->
            let terms = parts |> List.choose (fun (gs, w) -> snd gs[i] |> Option.map (Array.map (fun v -> w * v)))
            match tg, terms with
            | None, [] -> None
            | None, _ | Some _, [] -> Some name
            | Some t, ts ->
                let sum = ts |> List.reduce (Array.map2 (+))
                let scale = (maxAbs t :: List.map maxAbs ts) |> List.max
                if maxAbsDiff t sum <= 1e-5 * scale + 1e-12 then None else Some name)
        |> List.choose id
    bad.IsEmpty |> Prop.label (sprintf "β = %g; leaves where total ≠ its weighted terms: %A" beta bad)
