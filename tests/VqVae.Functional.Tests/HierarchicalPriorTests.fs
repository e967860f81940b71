/// The hierarchical prior of a VQ-VAE-2: causality of the bottom prior conditioned on the top grid (its logits at p
/// reach exactly the bottom codes before p, and see the top code over p), with a tooth; fitting, evaluating and
/// sampling top then bottom → decode.
module VqVae.Functional.Tests.HierarchicalPriorTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Functional.Hierarchical
open VqVae.Tensors.Tests

type HierCase =
    { Config: VqVae2Config; Side: int; Channels: int; Seed: int; Batch: int }
    override c.ToString() =
        sprintf "Kt=%d Kb=%d side=%d F=%d seed=%d batch=%d" c.Config.TopCodebookSize c.Config.BottomCodebookSize c.Side c.Channels c.Seed c.Batch

/// Images of side 8, 12 or 16 (bottom grids 2–4, top grids 1–2), 4 gated layers (enough for a 4×4 grid).
let genHier =
    gen {
        let! kt = Gen.choose (2, 5)
        let! kb = Gen.choose (2, 5)
        let! side = Gen.elements [ 8; 12; 16 ]
        let! f = Gen.choose (2, 4)
        let! seed = Gen.choose (0, 1_000_000)
        let! batch = Gen.choose (1, 2)
        return { Config = VqVae2Config(1, 4, kt, kb, 2, 0.25f); Side = side; Channels = f; Seed = seed; Batch = batch }
    }

let private priorsOf (c: HierCase) = HierarchicalPriors.Init(c.Config, c.Side, c.Side, Rng.Seed(int64 c.Seed), c.Channels, 4)

let private topCodes (c: HierCase) (cfg: PriorConfig) =
    let rng = Rng.Seed(int64 c.Seed).Fold 3L
    CodeIndices.Of(Array.init (c.Batch * cfg.ConditionHeight * cfg.ConditionWidth) (fun i -> rng.IntAt(int64 i, cfg.ConditionCodes)),
                   c.Batch, cfg.ConditionHeight, cfg.ConditionWidth)

/// The bottom prior's logits at p reach exactly the bottom positions before p (exact gradient reach, given a top grid).
let private causalViolations (fault: PriorFault) (c: HierCase) =
    let bottom = (priorsOf c).Bottom
    let cfg = bottom.Config
    let cond = PriorCondition(Codes = topCodes c cfg)
    let x = Tensor.Uniform(Rng.Seed(int64 c.Seed).Fold 5L, -1f, 1f, c.Batch, cfg.Channels, cfg.Height, cfg.Width)
    let n = cfg.Positions
    [ for b in 0 .. c.Batch - 1 do
        for p in 0 .. n - 1 do
            let reached = Causality.Reach(bottom, x, b, p, cond, fault)
            for q in 0 .. n - 1 do
                if reached[q] && q >= p then yield sprintf "sample %d: logits at %d reach bottom position %d (not before it)" b p q
                if not reached[q] && q < p then yield sprintf "sample %d: logits at %d miss bottom position %d (blind spot)" b p q ]

let private check n body = Check.One(Config.QuickThrowOnFailure.WithMaxTest(n), Prop.forAll (Arb.fromGen genHier) body)

let private causal fault (c: HierCase) =
    match causalViolations fault c with
    | [] -> ()
    | vs -> failwithf "%O: %s" c (String.Join("; ", vs |> List.truncate 4))

[<Fact>]
let ``the bottom prior's logits at p depend on exactly the bottom codes before p, given any top grid`` () =
    check 15 (causal PriorFault.None)

[<Fact>]
let ``teeth: mask B at the bottom prior's first layer breaks the hierarchical causality property`` () =
    let e = Assert.ThrowsAny<exn>(fun () -> check 15 (causal PriorFault.MaskBAtFirstLayer))
    Assert.Contains("not before it", e.Message)

[<Fact>]
let ``the bottom prior sees the top code over each position: changing it changes the logits there`` () =
    check 10 (fun c ->
        let bottom = (priorsOf c).Bottom
        let cfg = bottom.Config
        let top = topCodes c cfg
        let rng = Rng.Seed(int64 c.Seed).Fold 7L
        let codes = CodeIndices.Of(Array.init (c.Batch * cfg.Positions) (fun i -> rng.IntAt(int64 i, cfg.CodebookSize)), c.Batch, cfg.Height, cfg.Width)
        let logits0 = PriorModel.Logits(bottom, codes, PriorCondition(Codes = top)).ToArray()
        let k, n, tw = cfg.CodebookSize, cfg.Positions, cfg.ConditionWidth
        for cell in 0 .. cfg.ConditionHeight * tw - 1 do
            let changed = Array.copy (top.ToArray())
            changed[cell] <- (changed[cell] + 1) % cfg.ConditionCodes
            let logits1 = PriorModel.Logits(bottom, codes, PriorCondition(Codes = CodeIndices.Of(changed, c.Batch, cfg.ConditionHeight, tw))).ToArray()
            // the four bottom positions under top cell `cell` of sample 0
            let ty, tx = cell / tw, cell % tw
            for p in [ for dy in 0 .. 1 do for dx in 0 .. 1 -> (2 * ty + dy) * cfg.Width + 2 * tx + dx ] do
                let same = Seq.forall (fun j -> logits0[j * n + p] = logits1[j * n + p]) (seq { 0 .. k - 1 })
                if same then failwithf "%O: changing top code %d left the logits at bottom position %d unchanged" c cell p)

[<Fact>]
let ``encode, fit, evaluate and sample top then bottom, decoded to images of the data's size`` () =
    let d = VqVae.Data.Datasets.SyntheticDigits.Generate(48, Rng.Seed 1L)
    let x = Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width)
    let model = VqVae2Model.Init(VqVae2Config(1, 8, 6, 6, 3, 0.25f), Rng.Seed 2L)
    let codes = HierarchicalPriors.EncodeAll(model, x, 20)
    Assert.Equal<int[]>([| 48; 4; 4 |], codes.Top.Shape)
    Assert.Equal<int[]>([| 48; 8; 8 |], codes.Bottom.Shape)
    let prior0 = HierarchicalPriors.Init(model.Config, 28, 28, Rng.Seed 3L, 8, 8)
    let seen = Collections.Generic.List<string * int * float>()
    let prior = HierarchicalPriors.Fit(prior0, codes, PriorFitOptions(30, 16, 3e-3f, 0L), Action<_, _, _>(fun l s n -> seen.Add((l, s, n))))
    let nats level = seen |> Seq.filter (fun (l, _, _) -> l = level) |> Seq.map (fun (_, _, n) -> n) |> Array.ofSeq
    for level in [ "top"; "bottom" ] do
        let n = nats level
        Assert.Equal(30, n.Length)
        Assert.True(Array.average n[25..] < Array.average n[..4], sprintf "%s: %A" level n)
    let top, bottom = HierarchicalPriors.Evaluate(prior, codes, codes).ToTuple()
    Assert.True(Double.IsFinite top.NllBitsPerCode && Double.IsFinite bottom.NllBitsPerCode)
    let s1 = HierarchicalPriors.Sample(prior, 3, SamplingOptions(Seed = 5L))
    let s2 = HierarchicalPriors.Sample(prior, 3, SamplingOptions(Seed = 5L))
    Assert.Equal<int[]>(s1.Top.ToArray(), s2.Top.ToArray())
    Assert.Equal<int[]>(s1.Bottom.ToArray(), s2.Bottom.ToArray())
    Assert.Equal<int[]>([| 3; 8; 8 |], s1.Bottom.Shape)
    let images = HierarchicalPriors.SampleImages(model, prior, 2, SamplingOptions(Seed = 6L), 28, 28)
    Assert.Equal<int[]>([| 2; 1; 28; 28 |], images.Shape)

[<Fact>]
let ``a hierarchical prior checkpoint round-trips both priors; the single-prior loader refuses it saying what it is`` () =
    let cfg = VqVae2Config(1, 4, 3, 5, 2, 0.25f)
    let prior = VqVae.FSharp.HierarchicalPrior.init cfg 28 28 4 3 (Rng.Seed 1L)
    let path = Scratch.path "hprior.safetensors"
    HierarchicalPriorCheckpoint.Save(path, prior, "m", 28, 28)
    let back = HierarchicalPriorCheckpoint.Load path
    Assert.Equal(Nullable 28, back.ImageHeight)
    let leaves (p: HierarchicalPrior) = Tree.Leaves(p) |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq
    Assert.Equal<float32[]>(leaves prior, leaves back.Prior)
    Assert.Equal(prior.Bottom.Config, back.Prior.Bottom.Config)
    Assert.True(match VqVae.FSharp.HierarchicalPrior.load path with Ok p -> leaves p = leaves prior | Error _ -> false)
    let e = Assert.Throws<VqVae.Functional.Checkpoints.CheckpointException>(fun () -> PriorCheckpoint.Load path |> ignore)
    Assert.Contains("hierarchical (VQ-VAE-2) prior", e.Message)
    IO.File.Delete path
