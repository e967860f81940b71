/// Routing properties over random tiny models, batches and β (DESIGN §8).
module VqVae.Functional.Tests.RoutingTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.RoutingProperties

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``recon reaches encoder and decoder only, codebook term only the codebook, commitment only the encoder`` (backend: string) = onBackend backend <| fun () ->
    check 40 (termsReachExactlyTheirGroups correctLoss)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``total's gradient is recon's on the decoder, recon + β·commitment on the encoder, the codebook term's on the codebook`` (backend: string) = onBackend backend <| fun () ->
    check 30 (totalGradientIsTheWeightedSumOfTermGradients correctLoss)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``d recon / d z_e equals d recon / d decoder input (straight-through)`` (backend: string) = onBackend backend <| fun () ->
    check 40 (straightThroughCopiesTheDecoderInputGradient correctQuantize)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``with the EMA quantizer the codebook never receives a gradient`` (backend: string) = onBackend backend <| fun () ->
    check 30 (emaCodebookNeverReceivesAGradient correctLoss)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the routing matrix has a norm exactly where a term reaches a group`` (backend: string) = onBackend backend <| fun () ->
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2, beta = 0.37f)
    let model = VqVaeModel.Init(cfg, Rng.Seed 3L)
    let x = Tensor.Uniform(Rng.Seed 4L, 0.0f, 1.0f, 2, 1, 8, 8)
    let m = Routes.Matrix(model, x)
    Assert.Equal<string list>([ "recon"; "codebook"; "commitment"; "total" ], m.Rows |> Seq.map (fun r -> r.Term) |> List.ofSeq)
    Assert.Equal(GroupReach(true, false, true), m["recon"].Reach)
    Assert.Equal(GroupReach(false, true, false), m["codebook"].Reach)
    Assert.Equal(GroupReach(true, false, false), m["commitment"].Reach)
    Assert.Equal(GroupReach(true, true, true), m["total"].Reach)
    // The codebook cell is ‖d codebook / d e‖, computed here by hand.
    let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Codebook) model
    let norm = (nonNull "codebook" g[VqVaeModel.CodebookName]).ToArray() |> Array.sumBy (fun v -> float v * float v) |> sqrt
    Assert.Equal(norm, m["codebook"].Codebook.Value, 12)
    Assert.Contains("—", m.ToString())
