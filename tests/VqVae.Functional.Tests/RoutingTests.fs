/// Routing properties over random tiny models, batches and β (DESIGN §8).
module VqVae.Functional.Tests.RoutingTests

open System
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
open VqVae.Tensors.Tests.Properties

[<PropertyTest(40)>]
let ``recon reaches encoder and decoder only, codebook term only the codebook, commitment only the encoder`` c = propertyOnEveryBackend (fun () -> termsReachExactlyTheirGroups correctLoss c)

[<PropertyTest(30)>]
let ``total's gradient is recon's on the decoder, recon + β·commitment on the encoder, the codebook term's on the codebook`` c = propertyOnEveryBackend (fun () -> totalGradientIsTheWeightedSumOfTermGradients correctLoss c)

[<PropertyTest(40)>]
let ``d recon / d z_e equals d recon / d decoder input (straight-through)`` c = propertyOnEveryBackend (fun () -> straightThroughCopiesTheDecoderInputGradient correctQuantize c)

[<PropertyTest(30, Arbitrary = [| typeof<EmaCases> |])>]
let ``with the EMA quantizer the codebook never receives a gradient`` c = propertyOnEveryBackend (fun () -> emaCodebookNeverReceivesAGradient correctLoss c)

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

/// Each group's norm in the routing matrix is over all of its leaves, not one of them: the
/// square root of the sum of every reached leaf's squared norm, computed here leaf by leaf;
/// None exactly where no leaf of the group is reached; buffers never count.
[<PropertyTest(20)>]
let ``group norms sum every leaf of a group`` (c: ModelCase) =
    let m, x = modelOf c, batchOf c
    for term in LossTerms.Names do
        let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Term term) m
        let byHand group =
            let reached = gradLeaves m g |> List.choose (fun (_, gr, v) -> if gr = group then v else None)
            if reached.IsEmpty then None
            else Some (reached |> List.sumBy (fun t -> t.ToArray() |> Array.sumBy (fun v -> float v * float v)) |> sqrt)
        let struct (e, cb, d) = Routes.GroupNorms g
        for name, got, want in [ "encoder", e, byHand ParameterGroup.Encoder; "codebook", cb, byHand ParameterGroup.Codebook; "decoder", d, byHand ParameterGroup.Decoder ] do
            match Option.ofNullable got, want with
            | None, None -> ()
            | Some a, Some b -> Assert.True(abs (a - b) <= 1e-12 * b, $"{term}/{name}: {a} vs {b}")
            | a, b -> Assert.Fail($"{term}/{name}: {a} vs {b}")

/// Buffers never count in a group's norm, even when a gradient tree holds a tensor for them: with every leaf of an
/// EMA model's gradient set to ones, each group's norm is √(number of elements of that group's trainable leaves).
/// (Found by mutation testing: no test gave a buffer leaf a gradient, so putting buffers in a group went unseen.)
[<Fact>]
let ``group norms ignore a gradient on a buffer`` () =
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 5, codeDim = 2, quantizer = QuantizerKind.Ema)
    let m = VqVaeModel.Init(cfg, Rng.Seed 11L)
    let leaves = Tree.Leaves m
    let groups = m.Groups()
    Assert.True(groups |> Seq.exists (fun struct (_, g) -> g = ParameterGroup.Buffer), "the EMA model has buffer leaves")
    let ones = Gradients<VqVaeModel>(m, [| for l in leaves -> Some (Tensor.OnesLike l.Value) |] |> Array.map Option.toObj)
    let expected group =
        Seq.zip leaves groups |> Seq.filter (fun (_, struct (_, g)) -> g = group) |> Seq.sumBy (fun (l, _) -> float l.Value.Length) |> sqrt
    let struct (e, cb, d) = Routes.GroupNorms ones
    Assert.Equal(expected ParameterGroup.Encoder, e.Value, 12)
    Assert.Equal(expected ParameterGroup.Codebook, cb.Value, 12)
    Assert.Equal(expected ParameterGroup.Decoder, d.Value, 12)

/// How a reach pattern and the routing matrix print (`vqvae routes` shows them; found unpinned by mutation testing).
[<Fact>]
let ``a reach pattern and the routing matrix print as fixed-width text, a dash where a term does not reach`` () =
    Assert.Equal("{ Encoder = True; Codebook = False; Decoder = True }", string (GroupReach(true, false, true)))
    Assert.Equal("{ Encoder = False; Codebook = True; Decoder = False }", string (GroupReach(false, true, false)))
    let m = RoutingMatrix([| RoutingRow("recon", Nullable 1.5, Nullable(), Nullable 2.5e-4); RoutingRow("codebook", Nullable(), Nullable 12340.0, Nullable()) |])
    let expected =
        [ "term            encoder    codebook     decoder"
          "recon         1.500e+00           —   2.500e-04"
          "codebook              —   1.234e+04           —" ]
    Assert.Equal(String.Join(Environment.NewLine, expected), m.ToString())

[<Fact>]
let ``the routing matrix refuses an unknown term naming it and the rows it has`` () =
    let m = RoutingMatrix([| RoutingRow("recon", Nullable 1.0, Nullable(), Nullable 1.0); RoutingRow("total", Nullable 1.0, Nullable 1.0, Nullable 1.0) |])
    Assert.Equal(GroupReach(true, false, true), m["recon"].Reach)
    let e = Assert.Throws<ArgumentException>(fun () -> m["codebook"] |> ignore)
    Assert.Equal("term", e.ParamName)
    Assert.StartsWith("routing: no row 'codebook'; rows are recon, total.", e.Message)
