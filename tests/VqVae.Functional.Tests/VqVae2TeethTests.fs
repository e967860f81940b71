/// The VQ-VAE-2 routing properties have teeth: each known-wrong variant, recomposed from the library's
/// public stages with one piece broken, makes the property that guards against it fail.
module VqVae.Functional.Tests.VqVae2TeethTests

open Xunit
open VqVae.Tensors
open FsCheck.FSharp
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Losses
open VqVae.Functional.Quantization
open VqVae.Functional.Tests.RoutingProperties
open VqVae.Functional.Tests.TeethTests
open VqVae.Functional.Tests.VqVae2Generators
open VqVae.Functional.Tests.VqVae2RoutingProperties

let private rightCb zq ze = Loss.Codebook(zq, ze)
let private rightCm ze zq = Loss.Commitment(ze, zq)

/// The decoders see z_q,t itself: no straight-through copy at the top.
let noStraightThroughTop = composeLoss2 noStraightThroughQuantize correctQuantize straightThroughInput rightCb rightCm
/// The decoder sees z_q,b itself: no straight-through copy at the bottom.
let noStraightThroughBottom = composeLoss2 correctQuantize noStraightThroughQuantize straightThroughInput rightCb rightCm
/// dec_t is fed z_q,t (the codebook rows) instead of the straight-through copy: the bottom level then trains the top codebook.
let topDecoderFedCodes = composeLoss2 correctQuantize correctQuantize (fun q -> q.ZQ) rightCb rightCm
/// The codebook terms with the stop-gradient on the encoder's side swapped: mean((NoDiff(z_q) − z_e)²).
let codebookStopOnWrongSide2 =
    composeLoss2 correctQuantize correctQuantize straightThroughInput (fun (zq: Tensor) (ze: Tensor) -> (zq.NoDiff() - ze).Square().Mean()) rightCm
/// The commitment terms with the stop-gradient swapped: mean((NoDiff(z_e) − z_q)²).
let commitmentStopOnWrongSide2 =
    composeLoss2 correctQuantize correctQuantize straightThroughInput rightCb (fun (ze: Tensor) (zq: Tensor) -> (ze.NoDiff() - zq).Square().Mean())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``no straight-through at the top fails the level routing and the straight-through property`` (backend: string) = onBackend backend <| fun () ->
    assertFails 10 (Prop.forAll arbCase2 (termsReachExactlyTheirLevels noStraightThroughTop))
    assertFails 10 (Prop.forAll arbCase2 (straightThroughAtBothLevels noStraightThroughQuantize correctQuantize))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``no straight-through at the bottom fails the level routing and the straight-through property`` (backend: string) = onBackend backend <| fun () ->
    assertFails 10 (Prop.forAll arbCase2 (termsReachExactlyTheirLevels noStraightThroughBottom))
    assertFails 10 (Prop.forAll arbCase2 (straightThroughAtBothLevels correctQuantize noStraightThroughQuantize))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``feeding the top decoder the codes instead of the straight-through copy fails 'top codebook reached by nothing else'`` (backend: string) = onBackend backend <| fun () ->
    assertFails 10 (Prop.forAll arbCase2 (topCodebookIsReachedByNothingElse topDecoderFedCodes))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``stop-gradients on the wrong side in either term fail the level routing`` (backend: string) = onBackend backend <| fun () ->
    assertFails 10 (Prop.forAll arbCase2 (termsReachExactlyTheirLevels codebookStopOnWrongSide2))
    assertFails 10 (Prop.forAll arbCase2 (termsReachExactlyTheirLevels commitmentStopOnWrongSide2))

/// β on the codebook terms instead of the commitment terms.
let betaOnCodebookTerms =
    composeLoss2With (fun cfg recon cbs cms -> recon + cbs * cfg.Beta + cms) correctQuantize correctQuantize straightThroughInput rightCb rightCm

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``β on the codebook terms fails 'total = recon + codebooks + β·commitments' gradients`` (backend: string) = onBackend backend <| fun () ->
    assertFails 10 (Prop.forAll arbCase2 (totalIsTheWeightedSumOfLevelTerms betaOnCodebookTerms))
