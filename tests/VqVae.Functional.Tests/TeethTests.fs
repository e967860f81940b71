/// The properties have teeth: each known-wrong VQ-VAE (DESIGN §8), built here from the library's
/// pure pieces, makes the property that guards against it fail with a counterexample.
module VqVae.Functional.Tests.TeethTests

open Xunit
open VqVae.Tensors
open FsCheck.FSharp
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.RoutingProperties
open VqVae.Functional.Tests.QuantizerProperties

// ------------------------------------------------------------------ wrong variants

/// The farthest code instead of the nearest (argmax instead of argmin).
let argmaxQuantize : QuantizeFn = fun cb ze ->
    let codes, rows = codesOf cb, rowsOf ze
    let idx = rows |> Array.map (fun z -> codes |> Array.mapi (fun k e -> sqDist z e, k) |> Array.maxBy fst |> snd)
    let s = ze.Shape
    Quantizer.FromIndices(cb, ze, CodeIndices.Of(idx, s[0], s[2], s[3]))

/// The decoder sees z_q itself: no straight-through path from the decoder to the encoder.
let noStraightThroughQuantize : QuantizeFn = fun cb ze ->
    let q = Quantizer.Quantize(cb, ze)
    Quantized(q.ZQ, q.ZE, q.ZQ, q.Indices, q.Perplexity, q.Counts)

/// A loss assembled from the library's pieces, with each piece replaceable.
let composeLoss (quantize: QuantizeFn) codebookTerm commitmentTerm total : LossFn = fun m x ->
    let cfg = m.Config
    let ze = m.Encoder.Apply x
    let q : Quantized = quantize m.Codebook.Embedding ze
    let xHat = m.Decoder.Apply q.DecoderInput
    let recon = Loss.Reconstruction(cfg.Reconstruction, xHat, x)
    let cb : Tensor = codebookTerm q.ZQ q.ZE
    let cm : Tensor = commitmentTerm q.ZE q.ZQ
    LossTerms(recon, cb, cm, total cfg.Beta recon cb cm, q.Perplexity, q, xHat, m)

let rightCodebook zq ze = Loss.Codebook(zq, ze)
let rightCommitment ze zq = Loss.Commitment(ze, zq)
let rightTotal (beta: float32) (recon: Tensor) (cb: Tensor) (cm: Tensor) = recon + cb + cm * beta

/// The same composition with every piece right: it must pass, so the failures below come from the flaw.
let composedCorrectly = composeLoss correctQuantize rightCodebook rightCommitment rightTotal

/// mean((NoDiff(z_q) − z_e)²): the stop-gradient on the codebook side.
let codebookStopOnWrongSide = composeLoss correctQuantize (fun (zq: Tensor) (ze: Tensor) -> (zq.NoDiff() - ze).Square().Mean()) rightCommitment rightTotal

/// mean((NoDiff(z_e) − z_q)²): the stop-gradient on the encoder side.
let commitmentStopOnWrongSide = composeLoss correctQuantize rightCodebook (fun (ze: Tensor) (zq: Tensor) -> (ze.NoDiff() - zq).Square().Mean()) rightTotal

/// recon + β·codebook + commitment.
let betaOnCodebookTerm = composeLoss correctQuantize rightCodebook rightCommitment (fun beta recon cb cm -> recon + cb * beta + cm)

/// Decoder input = z_q.
let noStraightThrough = composeLoss noStraightThroughQuantize rightCodebook rightCommitment rightTotal

// ------------------------------------------------------------------ the teeth

/// Runs the property and returns FsCheck's report if it found a counterexample (None if it passed).
/// A property that crashed instead of being falsified does not count as teeth.
let counterexample maxTest prop =
    try check maxTest prop; None
    with e ->
        // FsCheck reports a false result as "with exception: System.Exception: Expected true, got false."
        let crashed = e.Message.Contains "with exception" && not (e.Message.Contains "Expected true, got false")
        Assert.True(e.Message.Contains "Falsifiable" && not crashed, e.Message)
        Some e.Message

let assertFails maxTest prop =
    Assert.True((counterexample maxTest prop).IsSome, "the property passed against a wrong implementation")

[<PropertyTest(10)>]
let ``the composition of the right pieces passes every routing property`` c = propertyOnEveryBackend (fun () ->
    termsReachExactlyTheirGroups composedCorrectly c .&. totalGradientIsTheWeightedSumOfTermGradients composedCorrectly c)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``argmax instead of argmin fails 'quantize picks the nearest code'`` (backend: string) = onBackend backend <| fun () ->
    assertFails 100 (Prop.forAll (Arb.fromGen (genQuantizerCase 2)) (quantizePicksTheNearestCode argmaxQuantize))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the codebook term's stop-gradient on the wrong side fails the routing property`` (backend: string) = onBackend backend <| fun () ->
    assertFails 20 (Prop.forAll arbCase (termsReachExactlyTheirGroups codebookStopOnWrongSide))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the commitment term's stop-gradient on the wrong side fails the routing property`` (backend: string) = onBackend backend <| fun () ->
    assertFails 20 (Prop.forAll arbCase (termsReachExactlyTheirGroups commitmentStopOnWrongSide))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``β on the codebook term instead of commitment fails 'total = recon + codebook + β·commitment' gradients`` (backend: string) = onBackend backend <| fun () ->
    assertFails 20 (Prop.forAll arbCase (totalGradientIsTheWeightedSumOfTermGradients betaOnCodebookTerm))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``no straight-through fails the routing property and the straight-through property`` (backend: string) = onBackend backend <| fun () ->
    assertFails 20 (Prop.forAll arbCase (termsReachExactlyTheirGroups noStraightThrough))
    assertFails 20 (Prop.forAll arbCase (straightThroughCopiesTheDecoderInputGradient noStraightThroughQuantize))
