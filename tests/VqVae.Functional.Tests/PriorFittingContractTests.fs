/// The prior's fitting pipeline (PriorFitting, PriorTraining) against what a user relies on and the mutation run
/// found unpinned: each epoch of Fit feeds every grid once, with its own labels and condition grid (seen through a
/// learning rate of 0, where each step's loss is that of the grids it was fed); Fit's options and arguments are
/// refused by name; Evaluate's figures are the prior's mean nats in bits, log₂ K and the unigram baseline, which is
/// computed here by hand; a training step refuses a diverged loss; slicing a set of grids.
module VqVae.Functional.Tests.PriorFittingContractTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Optim
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Tensors.Tests.Refusals

let private grids (seed: int64) k n h w =
    let rng = Rng.Seed seed
    CodeIndices.Of(Array.init (n * h * w) (fun i -> rng.IntAt(int64 i, k)), n, h, w)

/// Each grid's mean nats under the prior (with its own slice of the condition).
let private perGrid (prior: PixelCnnPrior) (codes: CodeIndices) (condition: PriorCondition | null) =
    Array.init codes.Batch (fun b ->
        let c : PriorCondition | null = match condition with | NonNull c -> c.Slice(b, 1) | Null -> null
        PriorTraining.MeanNats(prior, PriorTraining.Slice(codes, b, 1), c))

/// Fits with learning rate 0 (the prior never moves) and records each step's loss.
let private stepLosses (prior: PixelCnnPrior) codes batch steps (condition: PriorCondition | null) =
    let losses = ResizeArray()
    let fitted = PriorFitting.Fit(prior, codes, PriorFitOptions(steps, batch, 0f, 5L), (fun _ nats -> losses.Add nats), condition)
    Assert.Equal<float32[]>(prior.Out2Bias.ToArray(), fitted.Out2Bias.ToArray())
    losses.ToArray()

/// Every epoch of `batch`-grid steps splits the grids into disjoint batches whose mean losses are the step losses.
let private eachEpochVisitsEveryGridOnce (each: float[]) (losses: float[]) batch =
    let n = each.Length
    let perEpoch = n / batch
    let close (a: float) b = abs (a - b) < 1e-5
    for e in 0 .. losses.Length / perEpoch - 1 do
        let mutable left = Set.ofList [ 0 .. n - 1 ]
        for s in 0 .. perEpoch - 1 do
            let loss = losses[e * perEpoch + s]
            // the batch: some `batch` grids not yet seen this epoch whose mean is the loss
            let rec pick (chosen: int list) (from: int list) =
                if chosen.Length = batch then
                    (if close loss (chosen |> List.averageBy (fun g -> each[g])) then Some chosen else None)
                else
                    match from with
                    | [] -> None
                    | g :: rest -> match pick (g :: chosen) rest with Some c -> Some c | None -> pick chosen rest
            match pick [] (List.ofSeq left) with
            | Some chosen -> left <- Set.difference left (Set.ofList chosen)
            | None -> Assert.Fail($"epoch {e}, step {s}: loss {loss} is no batch of unseen grids (per grid: %A{each})")

[<Fact>]
let ``each epoch of fitting feeds every grid once, in batches, with its own labels and condition grid`` () =
    let codes = grids 1L 6 4 3 3
    let plain = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2), Rng.Seed 1L)
    let each = perGrid plain codes null
    Assert.Equal(4, each |> Array.distinct |> Array.length)
    eachEpochVisitsEveryGridOnce each (stepLosses plain codes 1 8 null) 1
    eachEpochVisitsEveryGridOnce each (stepLosses plain codes 2 6 null) 2
    // A batch larger than the set: every grid each step.
    for loss in stepLosses plain codes 64 2 null do Assert.Equal(Array.average each, loss, 5)
    // Labels and a condition grid follow their grids.
    let cfg = PriorConfig(6, 3, 3, 4, 2, Classes = 4, ConditionCodes = 5, ConditionHeight = 1, ConditionWidth = 3)
    let conditioned = PriorModel.Init(cfg, Rng.Seed 2L)
    let condition = PriorCondition([| 3; 0; 2; 1 |], grids 7L 5 4 1 3)
    let eachC = perGrid conditioned codes condition
    eachEpochVisitsEveryGridOnce eachC (stepLosses conditioned codes 2 4 condition) 2
    eachEpochVisitsEveryGridOnce eachC (stepLosses conditioned codes 1 4 condition) 1
    // Labels alone (no condition grid) for a class-conditional prior.
    let classes = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2, Classes = 4), Rng.Seed 3L)
    let labels = PriorCondition([| 1; 3; 0; 2 |])
    eachEpochVisitsEveryGridOnce (perGrid classes codes labels) (stepLosses classes codes 2 4 labels) 2

[<Fact>]
let ``fitting takes 0 steps and batches of 1, and refuses fewer, and null arguments, by name`` () =
    let prior = PriorModel.Init(PriorConfig(6, 3, 3, 4, 1), Rng.Seed 1L)
    let codes = grids 1L 6 3 3 3
    Assert.Same(prior, PriorFitting.Fit(prior, codes, PriorFitOptions(Steps = 0)))
    let mutable steps = 0
    let fitted = PriorFitting.Fit(prior, codes, PriorFitOptions(Steps = 2, Batch = 1), (fun _ _ -> steps <- steps + 1))
    Assert.Equal(2, steps)
    Assert.NotEqual<float32[]>(prior.Out2Bias.ToArray(), fitted.Out2Bias.ToArray())
    refusedAs<ArgumentOutOfRangeException> "options" "prior fit: Steps must be ≥ 0." (fun () -> PriorFitting.Fit(prior, codes, PriorFitOptions(Steps = -1))) |> ignore
    refusedAs<ArgumentOutOfRangeException> "options" "prior fit: Batch must be ≥ 1." (fun () -> PriorFitting.Fit(prior, codes, PriorFitOptions(Batch = 0))) |> ignore
    Assert.Equal("prior", nullArgumentOf (fun () -> PriorFitting.Fit(Unchecked.defaultof<PixelCnnPrior>, codes, PriorFitOptions())))
    Assert.Equal("codes", nullArgumentOf (fun () -> PriorFitting.Fit(prior, Unchecked.defaultof<CodeIndices>, PriorFitOptions())))
    Assert.Equal("options", nullArgumentOf (fun () -> PriorFitting.Fit(prior, codes, Unchecked.defaultof<PriorFitOptions>)))

[<Fact>]
let ``the unigram baseline is the held-out cross-entropy of add-one smoothed training frequencies, computed by hand`` () =
    // K = 3, training codes 0 0 1 0: counts 3 1 0, smoothed over 4 + 3 = 7: q = 4/7, 2/7, 1/7.
    let train = CodeIndices.Of([| 0; 0; 1; 0 |], 1, 2, 2)
    let heldOut = CodeIndices.Of([| 0; 2; 2 |], 1, 1, 3)
    let want = -(log (4.0 / 7.0) + 2.0 * log (1.0 / 7.0)) / (3.0 * log 2.0)
    Assert.Equal(want, PriorFitting.UnigramBits(train, heldOut, 3), 12)
    Assert.Equal(-(log (2.0 / 7.0)) / log 2.0, PriorFitting.UnigramBits(train, CodeIndices.Of([| 1 |], 1, 1, 1), 3), 12)
    let refused name text f = refusedAs<ArgumentOutOfRangeException> name text f |> ignore
    refused "train" "unigram: a training code is 3, outside [0, 2]." (fun () -> PriorFitting.UnigramBits(CodeIndices.Of([| 0; 3 |], 1, 1, 2), heldOut, 3))
    refused "heldOut" "unigram: a held-out code is 3, outside [0, 2]." (fun () -> PriorFitting.UnigramBits(train, CodeIndices.Of([| 3 |], 1, 1, 1), 3))
    for k in [ 0; -1 ] do
        refused "codebookSize" "unigram: codebookSize must be ≥ 1." (fun () -> PriorFitting.UnigramBits(train, heldOut, k))
    // One code is the smallest codebook: every code is that one, certain, 0 bits.
    let zeros n = CodeIndices.Of(Array.zeroCreate n, 1, 1, n)
    Assert.Equal(0.0, PriorFitting.UnigramBits(zeros 3, zeros 2, 1), 12)

[<Fact>]
let ``evaluation gives the prior's mean nats in bits beside log2 K and the unigram baseline`` () =
    let prior = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2), Rng.Seed 1L)
    let train, heldOut = grids 1L 6 5 3 3, grids 2L 6 3 3 3
    let e = PriorFitting.Evaluate(prior, train, heldOut)
    Assert.Equal(PriorTraining.MeanNats(prior, heldOut) / log 2.0, e.NllBitsPerCode, 12)
    Assert.Equal(log 6.0 / log 2.0, e.UniformBitsPerCode, 12)
    Assert.Equal(PriorFitting.UnigramBits(train, heldOut, 6), e.UnigramBitsPerCode, 12)

[<Fact>]
let ``a training step refuses a loss that is not finite and null arguments by name`` () =
    let prior = PriorModel.Init(PriorConfig(4, 2, 2, 2, 1), Rng.Seed 0L)
    let adam = Adam(1e-3f) :> IOptimizer
    let state = adam.Init prior
    let codes = CodeIndices.Of([| 0; 1; 2; 3 |], 1, 2, 2)
    // Finite logits 6·10³⁸ apart: the log-softmax of the low ones overflows float32, so the loss is infinite.
    let farBias = Tensor.FromArray([| 3e38f; -3e38f; -3e38f; -3e38f |], 4)
    let broken = Tree.FromLeaves(prior, Tree.Leaves prior |> Seq.map (fun l -> if l.Name = "out.2.bias" then farBias else l.Value) |> Array.ofSeq)
    let e = Assert.Throws<InvalidOperationException>(fun () -> PriorTraining.Step(adam, broken, state, codes) |> ignore)
    Assert.StartsWith("prior: the loss is ", e.Message)
    Assert.EndsWith("; lower the learning rate.", e.Message)
    Assert.Equal("optimizer", nullArgumentOf (fun () -> PriorTraining.Step(Unchecked.defaultof<IOptimizer>, prior, state, codes)))
    Assert.Equal("prior", nullArgumentOf (fun () -> PriorTraining.Step(adam, Unchecked.defaultof<PixelCnnPrior>, state, codes)))
    Assert.Equal("state", nullArgumentOf (fun () -> PriorTraining.Step(adam, prior, Unchecked.defaultof<OptimizerState<PixelCnnPrior>>, codes)))
    Assert.Equal("codes", nullArgumentOf (fun () -> PriorTraining.Step(adam, prior, state, Unchecked.defaultof<CodeIndices>)))
    Assert.Equal("codes", nullArgumentOf (fun () -> PriorTraining.MeanNats(prior, Unchecked.defaultof<CodeIndices>)))

[<Fact>]
let ``slicing takes whole grids from the start asked for`` () =
    let codes = CodeIndices.Of(Array.init 18 id, 3, 2, 3)
    let s = PriorTraining.Slice(codes, 1, 2)
    Assert.Equal<int[]>([| 2; 2; 3 |], s.Shape)
    Assert.Equal<int[]>([| 6 .. 17 |], s.ToArray())
    Assert.Equal<int[]>([| 12 .. 17 |], (PriorTraining.Slice(codes, 2, 1)).ToArray())
    Assert.Equal("codes", nullArgumentOf (fun () -> PriorTraining.Slice(Unchecked.defaultof<CodeIndices>, 0, 1)))

[<Fact>]
let ``a set of one image is encoded, and an empty set is refused by name`` () =
    let m = VqVae.Functional.Model.VqVaeModel.Init(ModelTests.tiny, Rng.Seed 1L)
    let x = Tensor.Uniform(Rng.Seed 2L, 0f, 1f, 1, 1, 8, 8)
    let c = PriorFitting.EncodeAll(m, x)
    Assert.Equal<int[]>((VqVae.Functional.Model.VqVaeModel.EncodeToCodes(m, x)).ToArray(), c.ToArray())
    Assert.Equal<int[]>([| 1; 2; 2 |], c.Shape)
    refusedAs<ArgumentException> "images" "encodeAll: images must be [N,C,H,W] with N ≥ 1, got [0,1,8,8]." (fun () -> PriorFitting.EncodeAll(m, Tensor.Zeros(0, 1, 8, 8))) |> ignore

[<Fact>]
let ``fitting and mean nats refuse a condition whose labels or grids do not match the set one for one, by name`` () =
    let codes = grids 1L 6 4 3 3
    let classes = PriorModel.Init(PriorConfig(6, 3, 3, 4, 1, Classes = 4), Rng.Seed 3L)
    let gridded = PriorModel.Init(PriorConfig(6, 3, 3, 4, 1, ConditionCodes = 5, ConditionHeight = 1, ConditionWidth = 3), Rng.Seed 3L)
    let o = PriorFitOptions(Steps = 3, Batch = 2)
    for labels in [ [| 1; 3 |]; [| 1; 3; 0; 2; 1 |] ] do
        let text = $"prior: the condition has {labels.Length} labels for 4 code grids; give one per grid."
        refusedAs<ArgumentException> "condition" text (fun () -> PriorFitting.Fit(classes, codes, o, condition = PriorCondition(labels))) |> ignore
        refusedAs<ArgumentException> "condition" text (fun () -> PriorTraining.MeanNats(classes, codes, PriorCondition(labels), 3)) |> ignore
        refusedAs<ArgumentException> "heldOutCondition" text (fun () -> PriorFitting.Evaluate(classes, codes, codes, PriorCondition(labels))) |> ignore
    for n in [ 3; 5 ] do
        let c = PriorCondition(Codes = grids 2L 5 n 1 3)
        let text = $"prior: the condition has {n} code grids for 4 code grids; give one per grid."
        refusedAs<ArgumentException> "condition" text (fun () -> PriorFitting.Fit(gridded, codes, o, condition = c)) |> ignore
        refusedAs<ArgumentException> "condition" text (fun () -> PriorTraining.MeanNats(gridded, codes, c, 3)) |> ignore
