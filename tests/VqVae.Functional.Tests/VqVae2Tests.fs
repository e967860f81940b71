/// VQ-VAE-2: shapes at 28×28 and 32×32 (padding), errors, the routing properties per level, and the
/// recomposition the teeth tests start from.
module VqVae.Functional.Tests.VqVae2Tests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Properties
open VqVae.Functional.Model
open VqVae.Functional.Hierarchical
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.VqVae2Generators
open VqVae.Functional.Tests.VqVae2RoutingProperties

let private tiny = VqVae2Config(1, 8, 5, 7, 3, 0.25f, ResidualLayers = 1, ResidualHidden = 2)

[<Theory>]
[<InlineData(28, 8, 4)>]
[<InlineData(32, 8, 4)>]
[<InlineData(12, 4, 2)>]
[<InlineData(33, 10, 5)>]
let ``images are padded to multiples of 8: grids are a quarter and an eighth of the padded side, x̂ has x's size`` (side: int) (bottom: int) (top: int) =
    let m = VqVae2Model.Init(tiny, Rng.Seed 1L)
    let x = Tensor.Uniform(Rng.Seed 2L, 0.0f, 1.0f, 2, 1, side, side)
    let codes = VqVae2Model.Encode(m, x)
    Assert.Equal<int[]>([| 2; top; top |], codes.Top.Shape)
    Assert.Equal<int[]>([| 2; bottom; bottom |], codes.Bottom.Shape)
    Assert.Equal<int[]>(x.Shape, (VqVae2Model.Reconstruct(m, x)).Shape)
    Assert.Equal<int[]>(x.Shape, (VqVae2Model.DecodeCodes(m, codes, side, side)).Shape)
    Assert.Equal<int[]>([| 2; 1; 8 * top; 8 * top |], (VqVae2Model.DecodeCodes(m, codes)).Shape)

[<Fact>]
let ``the vqvae2 preset maps 28×28 digits to 8×8 bottom and 4×4 top codes and its terms are finite`` () =
    let cfg = VqVae2Config.ByName "vqvae2"
    Assert.Equal(VqVae2Config.Mnist, cfg)
    let m = VqVae2Model.Init(cfg, Rng.Seed 0L)
    let x = Tensor.Uniform(Rng.Seed 3L, 0.0f, 1.0f, 1, 1, 28, 28)
    let t = VqVae2Model.LossTerms(m, x)
    Assert.Equal<int[]>([| 1; 4; 4 |], t.TopQuantized.Indices.Shape)
    Assert.Equal<int[]>([| 1; 8; 8 |], t.BottomQuantized.Indices.Shape)
    for n in VqVae2LossTerms.Names do Assert.True(Single.IsFinite((t.Term n).ToScalar()), n)

[<Fact>]
let ``leaves carry the PyTorch port's module names, in module order, and each belongs to its level`` () =
    let m = VqVae2Model.Init(tiny.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let names = Tree.Leaves(m) |> Seq.map (fun l -> l.Name) |> List.ofSeq
    let prefixes = names |> List.map (fun n -> n.Substring(0, n.IndexOf '.')) |> List.distinct
    Assert.Equal<string list>([ "enc_b"; "enc_t"; "quantize_conv_t"; "quantize_t"; "dec_t"; "quantize_conv_b"; "quantize_b"; "upsample_t"; "dec" ], prefixes)
    for n in [ "quantize_t.embedding.weight"; "quantize_t.cluster_size"; "quantize_t.ema_w"; "quantize_b.embedding.weight"; "enc_b.0.weight"; "dec.0.weight"; "upsample_t.weight" ] do
        Assert.Contains(n, names)
    Assert.Equal<int[]>([| 5; 3 |], (m.ToStateDict()["quantize_t.embedding.weight"]).Shape)
    Assert.Equal<int[]>([| 7; 3 |], (m.ToStateDict()["quantize_b.embedding.weight"]).Shape)
    Assert.Equal(LevelGroup.TopDecoder, VqVae2Model.GroupOf "dec_t.0.weight")
    Assert.Equal(LevelGroup.BottomEncoder, VqVae2Model.GroupOf "enc_b.0.weight")
    Assert.Equal(LevelGroup.Buffer, VqVae2Model.GroupOf "quantize_b.ema_w")
    let back = VqVae2Model.FromStateDict(m.Config, m.ToStateDict())
    Assert.Equal<float32[]>((Tree.Leaves(m) |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq),
                            (Tree.Leaves(back) |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq))

[<Fact>]
let ``bad inputs are refused naming the argument, what was expected and what came`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 1L)
    let e = Assert.Throws<ArgumentException>(fun () -> VqVae2Model.LossTerms(m, Tensor.Zeros(2, 3, 28, 28)) |> ignore)
    Assert.Contains("C=1", e.Message); Assert.Contains("[2,3,28,28]", e.Message)
    let codes = VqVae2Model.Encode(m, Tensor.Zeros(1, 1, 28, 28))
    let e2 = Assert.Throws<ArgumentOutOfRangeException>(fun () -> VqVae2Model.DecodeCodes(m, codes, 20, 28) |> ignore)
    Assert.Contains("(24, 32]", e2.Message)
    let top, bottom = VqVae2Model.CodesToLatents(m, codes).ToTuple()
    let e3 = Assert.Throws<ArgumentException>(fun () -> VqVae2Model.Decode(m, top, top) |> ignore)
    Assert.Contains("twice the top grid", e3.Message)
    let e4 = Assert.Throws<ArgumentException>(fun () -> VqVae2Model.Init(tiny.With(bottomCodebookSize = 0), Rng.Seed 0L) |> ignore)
    Assert.Contains("BottomCodebookSize", e4.Message)

[<Fact>]
let ``the forward pass recomposed from the public stages gives the library's loss terms exactly`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 4L)
    let x = Tensor.Uniform(Rng.Seed 5L, 0.0f, 1.0f, 2, 1, 12, 16)
    let a, b = correctLoss2 m x, composedCorrectly2 m x
    for n in VqVae2LossTerms.Names do Assert.Equal((a.Term n).ToScalar(), (b.Term n).ToScalar())

[<PropertyTest(15, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``each level's terms reach exactly their groups`` c = propertyOnEveryBackend (fun () -> termsReachExactlyTheirLevels correctLoss2 c)

[<PropertyTest(5, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``the recomposition of the right pieces (what the teeth tests break) passes the level routing`` c =
    propertyOnEveryBackend (fun () -> termsReachExactlyTheirLevels composedCorrectly2 c)

[<PropertyTest(15, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``the top codebook is reached by nothing but its own term`` c = propertyOnEveryBackend (fun () -> topCodebookIsReachedByNothingElse correctLoss2 c)

[<PropertyTest(15, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``straight-through copies the decoder-input gradient at both levels`` c =
    propertyOnEveryBackend (fun () -> straightThroughAtBothLevels RoutingProperties.correctQuantize RoutingProperties.correctQuantize c)

[<PropertyTest(10, Arbitrary = [| typeof<EmaVqVae2Cases> |])>]
let ``EMA codebooks of both levels never receive a gradient`` c = propertyOnEveryBackend (fun () -> emaCodebooksNeverReceiveAGradient correctLoss2 c)

[<PropertyTest(10, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``the total's gradient is the weighted sum of the level terms' gradients`` c =
    propertyOnEveryBackend (fun () -> totalIsTheWeightedSumOfLevelTerms correctLoss2 c)

/// Each group's norm in VqVae2Routes.GroupNorms is over all of its reached leaves, not one of them: the norm of
/// the group's reached gradients laid end to end, computed here; a group is present exactly when some leaf of it
/// is reached; buffers never count. (Summing only a group's last leaf, or skipping its first, fails this.)
[<PropertyTest(10, Arbitrary = [| typeof<VqVae2Cases> |])>]
let ``VQ-VAE-2 group norms sum every reached leaf of a group`` c =
    let m, x = model2Of c, batch2Of c
    for term in VqVae2LossTerms.Names do
        let struct (_, g) = Grad.ValueAndGrad(Func<_, _>(fun m -> (VqVae2Model.LossTerms(m, x)).Term term), m)
        let expected =
            [ for i in 0 .. g.Count - 1 do
                match g[i].Gradient with
                | null -> ()
                | t -> yield VqVae2Model.GroupOf g[i].Name, t.ToArray() ]
            |> List.filter (fun (group, _) -> group <> LevelGroup.Buffer)
            |> List.groupBy fst
            |> List.map (fun (group, leaves) -> group, leaves |> Seq.collect snd |> Seq.sumBy (fun v -> float v * float v) |> sqrt)
            |> Map.ofList
        let got = VqVae2Routes.GroupNorms g |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
        Assert.Equal<LevelGroup list>(List.ofSeq expected.Keys, List.ofSeq got.Keys)
        for KeyValue (group, want) in expected do
            Assert.True(abs (got[group] - want) <= 1e-12 * want, $"{term}/{group}: {got[group]} vs {want}")

/// The routing matrix lists the reconstruction, the four level terms and the total in VqVae2LossTerms.Names order, each row the
/// term's own reach; LevelReach prints its six flags by name (the text the routing properties label failures with).
[<Fact>]
let ``the VQ-VAE-2 routing matrix is each term's reach, in order`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 8L)
    let x = Tensor.Uniform(Rng.Seed 9L, 0.0f, 1.0f, 2, 1, 8, 8)
    let rows = VqVae2Routes.Matrix(m, x)
    Assert.Equal<string list>(List.ofSeq VqVae2LossTerms.Names, rows |> Seq.map (fun struct (t, _) -> t) |> List.ofSeq)
    for struct (t, r) in rows do
        Assert.Equal(VqVae2Routes.Reach(Func<_, _>(fun m -> (VqVae2Model.LossTerms(m, x)).Term t), m), r)
    Assert.Equal(LevelReach(false, false, true, false, false, false), rows |> Seq.pick (fun struct (t, r) -> if t = "codebook_t" then Some r else None))
    Assert.Equal("{ BottomEncoder = True; TopEncoder = False; TopCodebook = True; TopDecoder = False; BottomCodebook = False; Decoder = True }",
                 LevelReach(true, false, true, false, false, true).ToString())
