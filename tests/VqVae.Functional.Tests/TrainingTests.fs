module VqVae.Functional.Tests.TrainingTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Diagnostics
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Optim
open VqVae.Functional.Codebooks
open VqVae.Functional.Training
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests.Properties

let private some (x: 'a | null) : 'a =
    match x with
    | null -> failwith "unexpected null"
    | v -> v

let private bits (t: Tensor) = t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

let private leafBits (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Name, bits l.Value) |> List.ofSeq

let private lossAndGrads (m: VqVaeModel) x =
    let struct (_, terms, grads) = Grad.ValueAndGradWithAux((fun m -> let t = VqVaeModel.LossTerms(m, x) in struct (t.Total, t)), m)
    terms, grads

[<PropertyTest(15, Arbitrary = [| typeof<EmaCases> |])>]
let ``EMA codebook gets no gradient and moves only by the EMA update, even under weight decay`` (c: ModelCase) =
    let model, x = modelOf c, batchOf c
    let terms, grads = lossAndGrads model x
    Assert.Null(grads[VqVaeModel.CodebookName])
    let opt = Adam.Create(1e-2f, weightDecay = 0.1f)
    let struct (model', _, _) = TrainStep.Apply(opt, model, opt.Init model, x)
    let q = terms.Quantized
    let struct (ema', codebook') =
        Ema.Update(some model.Ema, model.Codebook.Embedding, q.Rows(), q.Indices.ToArray(), c.Config.EmaDecay, c.Config.EmaEpsilon)
    Assert.Equal<int[]>(bits codebook', bits model'.Codebook.Embedding)
    Assert.Equal<int[]>(bits ema'.ClusterSize, bits (some model'.Ema).ClusterSize)
    Assert.Equal<int[]>(bits ema'.EmaW, bits (some model'.Ema).EmaW)

[<PropertyTest(15)>]
let ``a straight-through step is the optimizer's update of the total loss's gradient, and reports its terms`` (c: ModelCase) =
    let model, x = modelOf c, batchOf c
    let terms, grads = lossAndGrads model x
    let sgd = Sgd.Create(0.05f)
    let struct (expected, _) = sgd.Update(grads, sgd.Init model, model)
    let struct (model', state', m) = TrainStep.Apply(sgd, model, sgd.Init model, x)
    Assert.Equal(1, state'.Step)
    for (n, a), (_, b) in List.zip (leafBits expected) (leafBits model') do
        Assert.True((a = b), $"leaf {n} differs from the optimizer's update")
    let struct (r, cb, cm, t) = terms.Values
    Assert.Equal((1, r, cb, cm, t), (m.Step, m.Recon, m.Codebook, m.Commitment, m.Total))
    Assert.Equal(terms.Perplexity, m.Perplexity)
    Assert.Equal(terms.Quantized.CodesUsed, m.UsedCodes)
    Assert.Equal(grads.GlobalNorm(), m.GradientNorm)
    Assert.Equal(x.Shape[0] * (x.Shape[2] / 4) * (x.Shape[3] / 4), Seq.sum m.CodeCounts)

[<PropertyTest(10, Arbitrary = [| typeof<EmaCases> |])>]
let ``a step is pure: its inputs are unchanged and repeating it gives the same bits`` (c: ModelCase) =
    let model, x = modelOf c, batchOf c
    let before = leafBits model
    let opt = Adam.Create(1e-2f)
    let s0 = opt.Init model
    let struct (m1, s1, _) = TrainStep.Apply(opt, model, s0, x)
    let struct (m2, s2, _) = TrainStep.Apply(opt, model, s0, x)
    Assert.Equal<(string * int[]) list>(before, leafBits model)
    Assert.Equal(0, s0.Step)
    Assert.Equal<(string * int[]) list>(leafBits m1, leafBits m2)
    Assert.Equal<(string * int[]) list>(leafBits s1.M, leafBits s2.M)

[<Fact>]
let ``the trainer folds the step over cycled batches, calls back once per step and sums code usage`` () =
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
    let model = VqVaeModel.Init(cfg, Rng.Seed 3L)
    let batches = [ for i in 0L .. 1L -> Tensor.Uniform(Rng.Seed(10L + i), 0f, 1f, 2, 1, 8, 8) ]
    let opt = Sgd.Create(0.1f, 0.9f)
    let seen = Collections.Generic.List<int>()
    let run = Trainer.Run(opt, model, batches, steps = 5, onStep = Action<StepMetrics>(fun m -> seen.Add m.Step))
    Assert.Equal<int list>([ 1 .. 5 ], List.ofSeq seen)
    let mutable m, s = model, opt.Init model
    for x in [ batches[0]; batches[1]; batches[0]; batches[1]; batches[0] ] do
        let struct (m', s', _) = TrainStep.Apply(opt, m, s, x)
        m <- m'; s <- s'
    Assert.Equal<(string * int[]) list>(leafBits m, leafBits run.Model)
    Assert.Equal(5L * 2L * 4L, run.Usage.Total)
    let counts = run.Metrics |> Seq.map (fun m -> Array.ofSeq m.CodeCounts) |> Seq.reduce (Array.map2 (+))
    Assert.Equal<int64 list>(counts |> Array.map int64 |> List.ofArray, List.ofSeq run.Usage.Counts)
    let e = Assert.Throws<ArgumentException>(fun () -> Trainer.Run(opt, model, [], steps = 1) |> ignore)
    Assert.Contains("empty", e.Message)

[<PropertyTest(15, Arbitrary = [| typeof<EmaCases> |])>]
let ``dead-code restart on a model revives only the dead codes and leaves every other leaf alone`` (c: ModelCase) =
    let model, x = modelOf c, batchOf c
    let usage = (CodeUsage.Empty model.Codebook.Size).Add((VqVaeModel.EncodeToCodes(model, x)).ToArray())
    let rows = CodebookOps.EncoderRows(model, [ x ])
    let revived = CodebookOps.DeadCodeRestart(model, rows, usage, Rng.Seed 5L)
    let d = model.Codebook.Dim
    let e0, e1 = model.Codebook.Embedding.ToArray(), revived.Codebook.Embedding.ToArray()
    for k in 0 .. model.Codebook.Size - 1 do
        if usage.Counts[k] > 0L then Assert.Equal<float32[]>(e0[k * d .. k * d + d - 1], e1[k * d .. k * d + d - 1])
    for (n, a), (_, b) in List.zip (leafBits model) (leafBits revived) do
        if not (n.StartsWith "vq.") then Assert.True((a = b), $"leaf {n} changed")
    // A second look at the same batch: every code that was dead now sits on one of its rows.
    let z = rows.ToArray()
    for k in usage.DeadCodes do
        let code = e1[k * d .. k * d + d - 1]
        Assert.True([ 0 .. rows.Shape[0] - 1 ] |> List.exists (fun i -> z[i * d .. i * d + d - 1] = code))

[<Fact>]
let ``a step keeps the BatchNorm running statistics of its training pass and never lets the optimizer touch them`` () =
    // No preset has BatchNorm, so build a small reference model with one after the first conv.
    let small = VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 4L)
    let layers = small.Encoder.Layers.Layers
    let withBn = Sequential.Of([| layers[0]; BatchNorm2d.Init(8) :> ILayer; yield! Seq.skip 1 layers |])
    let model = VqVaeModel(small.Config, Encoder(withBn), small.Codebook, small.Decoder)
    let x = Tensor.Uniform(Rng.Seed 9L, 0f, 1f, 2, 1, 8, 8)
    let terms = VqVaeModel.LossTerms(model, x)
    let opt = Adam.Create(0.1f, weightDecay = 0.5f)
    let struct (model', _, _) = TrainStep.Apply(opt, model, opt.Init model, x)
    let buffers = model.Groups() |> Seq.filter (fun struct (_, g) -> g = ParameterGroup.Buffer) |> Seq.map (fun struct (n, _) -> n) |> Set.ofSeq
    Assert.Equal(3, buffers.Count)
    let byName (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Name, bits l.Value) |> Map.ofSeq
    let expected, got, before = byName terms.Model, byName model', byName model
    for n in buffers do
        Assert.Equal<int[]>(expected[n], got[n])
    Assert.NotEqual<int[]>(before["encoder.1.running_mean"], got["encoder.1.running_mean"])

/// The step's health figures (found unpinned by mutation testing): the mean and population standard
/// deviation of the reconstruction's pixels and of the batch's, each over every element, in double.
[<PropertyTest(10)>]
let ``a step reports the reconstruction's mean and standard deviation and the batch's standard deviation`` (c: ModelCase) =
    let model, x = modelOf c, batchOf c
    let terms = VqVaeModel.LossTerms(model, x)
    let struct (_, _, m) = TrainStep.Apply(Sgd.Create 0.05f, model, (Sgd.Create 0.05f).Init model, x)
    let outMean, outStd = TrainingHelpers.meanStd terms.XHat
    let _, inStd = TrainingHelpers.meanStd x
    Assert.True(abs (m.OutputMean - outMean) <= 1e-9 * (1.0 + abs outMean), $"output mean {m.OutputMean} vs {outMean}")
    Assert.True(abs (m.OutputStd - outStd) <= 1e-6 * (1.0 + outStd), $"output std {m.OutputStd} vs {outStd}")
    Assert.True(abs (m.InputStd - inStd) <= 1e-6 * (1.0 + inStd), $"input std {m.InputStd} vs {inStd}")
    Assert.True(m.InputStd > 0.0)

[<Fact>]
let ``the standard deviation of a constant tensor is 0, never NaN from rounding`` () =
    // s2/n − mean² rounds below 0 for some constants; the clamp keeps the square root defined.
    // (100 copies of each of these: s2/n − mean² is −2e-15, −4e-17, −5e-15 in double.)
    for v in [ 0.9604539275169373f; 0.2929234802722931f; 1.409211277961731f ] do
        let struct (mean, std) = TrainStep.MeanStd(Tensor.Full(v, 10, 10))
        Assert.Equal(float v, mean, 6)
        Assert.Equal(0.0, std)

[<Fact>]
let ``the EMA step refuses a model without EMA statistics, naming the model`` () =
    let model = VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2), Rng.Seed 3L)
    let q = VqVaeModel.LossTerms(model, Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 1, 8, 8)).Quantized
    let e = Assert.Throws<ArgumentException>(fun () -> TrainStep.EmaStep(model, q) |> ignore)
    Assert.Equal("model", e.ParamName)
    Assert.StartsWith("emaStep: the model has no EMA state", e.Message)

/// An optimizer whose Update hands back a state of another type than it was given.
type private StateSwapping() =
    let sgd = Sgd.Create 0.1f
    interface IOptimizer with
        member _.Init p = (Adam.Create 0.1f :> IOptimizer).Init p
        member _.Update(g, _, p) = (sgd :> IOptimizer).Update(g, (sgd :> IOptimizer).Init p, p)

[<Fact>]
let ``a step refuses an optimizer that changes its state's type, naming both types`` () =
    let model = VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2), Rng.Seed 3L)
    let opt = StateSwapping() :> IOptimizer
    let s0 = (Adam.Create 0.1f).Init model
    let e = Assert.Throws<InvalidOperationException>(fun () -> TrainStep.Apply(opt, model, s0, Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 1, 8, 8)) |> ignore)
    Assert.Contains("StateSwapping was given a AdamState`1 but returned a SgdState`1", e.Message)

[<Fact>]
let ``a step and the EMA step name a null argument`` () =
    let model = VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2, quantizer = QuantizerKind.Ema), Rng.Seed 3L)
    let x = Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 1, 8, 8)
    let adam = Adam.Create 0.1f
    let s0 = adam.Init model
    let named (name: string) (f: unit -> unit) = Assert.Equal(name, Assert.Throws<ArgumentNullException>(f).ParamName)
    named "optimizer" (fun () -> TrainStep.Apply(Unchecked.defaultof<IOptimizer>, model, s0, x) |> ignore)
    named "model" (fun () -> TrainStep.Apply(adam, Unchecked.defaultof<VqVaeModel>, s0, x) |> ignore)
    named "state" (fun () -> TrainStep.Apply(adam, model, Unchecked.defaultof<AdamState<VqVaeModel>>, x) |> ignore)
    named "batch" (fun () -> TrainStep.Apply(adam, model, s0, Unchecked.defaultof<Tensor>) |> ignore)
    let q = VqVaeModel.LossTerms(model, x).Quantized
    named "model" (fun () -> TrainStep.EmaStep(Unchecked.defaultof<VqVaeModel>, q) |> ignore)
    named "quantized" (fun () -> TrainStep.EmaStep(model, Unchecked.defaultof<Quantized>) |> ignore)

[<CollectionDefinition("TrainStep profiler", DisableParallelization = true)>]
type TrainStepProfilerCollection() = class end

/// The step times the optimizer's update as its own phase of the op profile (the CLI's profile table
/// shows it under this name). Alone in its collection: the profiler is process-wide.
[<Collection("TrainStep profiler")>]
type TrainStepProfilerTests() =
    [<Fact>]
    member _.``with the profiler on, a step records one optimizer update phase`` () =
        let model = VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2), Rng.Seed 3L)
        let adam = Adam.Create 0.1f
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try TrainStep.Apply(adam, model, adam.Init model, Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 1, 8, 8)) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> Map.ofSeq
        OpProfiler.Reset()
        Assert.Equal(Some 1L, rows.TryFind "optimizer update")

[<Fact>]
let ``training options name the first bad setting, their policies' included, and accept every bound`` () =
    let ok = TrainOptions(Steps = Nullable 0, UsageWindow = 0, CheckpointEvery = 0, EvaluateEvery = 0)
    Assert.Same(ok, ok.Validate())
    let refused (name: string) (text: string) (o: TrainOptions) =
        let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> o.Validate() |> ignore)
        Assert.Equal(name, e.ParamName)
        Assert.StartsWith(text, e.Message)
    refused "Steps" "trainer: Steps must be ≥ 0, got -1." (TrainOptions(Steps = Nullable -1))
    refused "UsageWindow" "trainer: UsageWindow must be ≥ 0 (0 = whole run), got -1." (TrainOptions(UsageWindow = -1))
    refused "CheckpointEvery" "trainer: CheckpointEvery must be ≥ 0 (0 = only at the end), got -1." (TrainOptions(CheckpointEvery = -1))
    refused "EvaluateEvery" "trainer: EvaluateEvery must be ≥ 0 (0 = never), got -1." (TrainOptions(EvaluateEvery = -1))
    refused "Every" "deadCodes: Every must be ≥ 1 step, got 0." (TrainOptions(DeadCodes = DeadCodePolicy(Every = 0)))
    refused "Window" "divergence: Window must be ≥ 1, got 0." (TrainOptions(Divergence = DivergenceGuard(Window = 0)))
