/// Issue 15.3: optimizer state saved beside the model, checkpoints that survive a kill, and a resumed run that
/// equals the uninterrupted one bit for bit (model, optimizer state, usage window, data order).
module VqVae.Functional.Tests.ResumeTests

open System
open System.IO
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Data.Datasets
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Checkpoints
open VqVae.Functional.Training
open VqVae.Tensors.Tests

let private cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
let private model () = VqVaeModel.Init(cfg, Rng.Seed 3L)
let private batches = [ for i in 0L .. 4L -> Tensor.Uniform(Rng.Seed(20L + i), 0f, 1f, 2, 1, 8, 8) ]
/// The batches a run that has taken `n` of the cycled list takes next.
let private from n = [ for i in 0 .. batches.Length - 1 -> batches[(n + i) % batches.Length] ]
let private tempDir () = Scratch.dir "resume"

let private bits (leaves: seq<TreeLeaf>) =
    leaves |> Seq.map (fun l -> l.Name, l.Value.ToArray() |> Array.map BitConverter.SingleToInt32Bits) |> List.ofSeq

/// Dead-code restarts every 2 steps over a window of 4: what a resumed run must judge exactly as the uninterrupted one.
let private optionsWith steps (window: Collections.Generic.IReadOnlyList<Collections.Generic.IReadOnlyList<int64>> | null) (onCheckpoint: Action<TrainSnapshot> | null) =
    TrainOptions(Steps = Nullable(steps: int), UsageWindow = 4, DeadCodes = DeadCodePolicy(Every = 2, Threshold = 3), Rng = Rng.Seed 5L,
                 Window = window, CheckpointEvery = 3, OnCheckpoint = onCheckpoint)
let private options steps = optionsWith steps null null

let private adam = Adam.Create 2e-2f

/// 7 steps, checkpointed to a folder by the trainer's hook; then the rest from the files.
let private resumed (total: int) (split: int) (dropWindow: bool) (freshOptimizer: bool) =
    let dir = tempDir ()
    let first =
        Trainer.Run(adam, model (), adam.Init(model ()), batches,
                    optionsWith split null (Action<TrainSnapshot>(fun s -> TrainingCheckpoint.Save(dir, adam, s, "run-1"))))
    let point = TrainingCheckpoint.Load(Path.Combine(dir, TrainingCheckpoint.ModelFileName), adam)
    let saved = nonNull point.Optimizer
    Assert.Equal(split, point.Step)
    let state = if freshOptimizer then adam.Init point.Model :> OptimizerState<VqVaeModel> else saved.State
    let window = saved.Window |> Seq.map (fun r -> r :> Collections.Generic.IReadOnlyList<int64>) |> Array.ofSeq :> Collections.Generic.IReadOnlyList<_>
    let second = Trainer.Run(adam, point.Model, state, from split, optionsWith (total - split) (if dropWindow then null else window) null)
    first, second

[<Fact>]
let ``a run resumed from its checkpoint files equals the uninterrupted run bit for bit`` () =
    let whole = Trainer.Run(adam, model (), adam.Init(model ()), batches, options 16)
    let first, second = resumed 16 7 false false
    // The resumed part must re-seed dead codes, or the window would not be exercised.
    Assert.True(second.RestartedCodes > 0, "no dead code was restarted after the resume; the test would not see the window")
    Assert.Equal<int list>([ 8 .. 16 ], second.Metrics |> Seq.map (fun m -> m.Step) |> List.ofSeq)
    Assert.Equal(whole.RestartedCodes, first.RestartedCodes + second.RestartedCodes)
    Assert.Equal<(string * int[]) list>(bits (Tree.Leaves whole.Model), bits (Tree.Leaves second.Model))
    Assert.Equal<(string * int[]) list>(bits (Tree.Leaves whole.State), bits (Tree.Leaves second.State))
    let losses (r: TrainResult) = r.Metrics |> Seq.map (fun m -> BitConverter.SingleToInt32Bits m.Total) |> List.ofSeq
    Assert.Equal<int list>(losses whole, losses first @ losses second)

[<Fact>]
let ``teeth: without the saved usage window or the saved optimizer state the resumed run differs`` () =
    let whole = Trainer.Run(adam, model (), adam.Init(model ()), batches, options 16)
    for dropWindow, fresh in [ true, false; false, true ] do
        let _, second = resumed 16 7 dropWindow fresh
        Assert.NotEqual<(string * int[]) list>(bits (Tree.Leaves whole.Model), bits (Tree.Leaves second.Model))

[<Fact>]
let ``the optimizer file holds PyTorch's state names and the step, and reads back exactly`` () =
    let dir = tempDir ()
    let m = model ()
    for opt in [ Adam.Create 1e-2f :> IOptimizer; Sgd.Create(0.1f, momentum = 0.9f); Sgd.Create 0.1f ] do
        let run = Trainer.Run(opt, m, opt.Init m, batches, TrainOptions(Steps = 3))
        let path = Path.Combine(dir, "opt.safetensors")
        OptimizerCheckpoint.Save(path, opt, run.State)
        let file = SafeTensors.Read path
        let names = file.Entries |> Seq.map (fun e -> e.Name) |> Set.ofSeq
        Assert.Contains("step", names)
        Assert.Equal("3", file.Metadata["step"])
        match opt with
        | :? Adam ->
            Assert.Contains("encoder.0.weight.exp_avg", names)
            Assert.Contains("encoder.0.weight.exp_avg_sq", names)
            Assert.Contains("encoder.0.weight.step", names)
        | :? Sgd as s when s.Momentum <> 0f -> Assert.Contains("encoder.0.weight.momentum_buffer", names)
        | _ -> Assert.DoesNotContain("encoder.0.weight.momentum_buffer", names)
        let back = OptimizerCheckpoint.Load(path, opt, run.Model)
        Assert.Equal(run.State.GetType(), back.State.GetType())
        Assert.Equal<(string * int[]) list>(bits (Tree.Leaves run.State), bits (Tree.Leaves back.State))

[<Fact>]
let ``an optimizer file of another optimizer, another model or no optimizer at all is refused by name`` () =
    let dir = tempDir ()
    let m = model ()
    let path = Path.Combine(dir, "opt.safetensors")
    OptimizerCheckpoint.Save(path, Sgd.Create(0.1f, momentum = 0.9f), (Sgd.Create(0.1f, momentum = 0.9f)).Init m)
    let e = Assert.Throws<CheckpointException>(fun () -> OptimizerCheckpoint.Load(path, adam, m) |> ignore)
    Assert.Contains("optimizer 'sgd-momentum'", e.Message)
    Assert.Contains("'adam'", e.Message)
    OptimizerCheckpoint.Save(path, adam, adam.Init m)
    let other = VqVaeModel.Init(cfg.With(hidden = 6), Rng.Seed 1L)
    let e = Assert.Throws<CheckpointException>(fun () -> OptimizerCheckpoint.Load(path, adam, other) |> ignore)
    Assert.Contains("encoder.0.weight.exp_avg", e.Message)
    Assert.Contains("another model", e.Message)
    let ema = VqVaeModel.Init(cfg.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let e = Assert.Throws<CheckpointException>(fun () -> OptimizerCheckpoint.Load(path, adam, ema) |> ignore)
    Assert.Contains("lacks the state 'vq.cluster_size.exp_avg'", e.Message)
    Checkpoint.Save(path, m)
    let e = Assert.Throws<CheckpointException>(fun () -> OptimizerCheckpoint.Load(path, adam, m) |> ignore)
    Assert.Contains("is not an optimizer state", e.Message)
    Assert.Contains(path, e.Message)

/// The folder states a kill can leave while TrainingCheckpoint.Save replaces step A's pair by step B's.
[<Fact>]
let ``whichever state a kill leaves during a save, the model is loaded with its own optimizer state`` () =
    let m = model ()
    let a = Trainer.Run(adam, m, adam.Init m, batches, TrainOptions(Steps = 2))
    let b = Trainer.Run(adam, a.Model, a.State, batches, TrainOptions(Steps = 2))
    let save (s: TrainResult) =
        let d = tempDir ()
        TrainingCheckpoint.Save(d, adam, TrainSnapshot(s.State.Step, s.Model, s.State), "run-x")
        d
    let da, db = save a, save b
    let file (d: string) (n: string) = Path.Combine(d, n)
    let build (files: (string * string) list) =
        let d = tempDir ()
        for src, name in files do File.Copy(src, Path.Combine(d, name))
        Path.Combine(d, TrainingCheckpoint.ModelFileName)
    let M, O, P = TrainingCheckpoint.ModelFileName, TrainingCheckpoint.OptimizerFileName, TrainingCheckpoint.PreviousOptimizerFileName
    // (1) A's optimizer moved aside, B's not yet written; (2) B's optimizer written, B's model not yet; (3) both written, the previous not yet removed.
    for files, step in [ [ file da M, M; file da O, P ], 2
                         [ file da M, M; file db O, O; file da O, P ], 2
                         [ file db M, M; file db O, O; file da O, P ], 4 ] do
        let point = TrainingCheckpoint.Load(build files, adam)
        Assert.Equal(step, point.Step)
        let expected = if step = 2 then a else b
        Assert.Equal<(string * int[]) list>(bits (Tree.Leaves expected.State), bits (Tree.Leaves (nonNull point.Optimizer).State))
    // A model whose optimizer state is gone (files of two checkpoints) is refused, naming both steps.
    let e = Assert.Throws<CheckpointException>(fun () -> TrainingCheckpoint.Load(build [ file da M, M; file db O, O ], adam) |> ignore)
    Assert.Contains("step 2", e.Message)
    Assert.Contains("optimizer.safetensors is from step 4", e.Message)
    // A plain model file has no optimizer state to resume.
    let plain = Path.Combine(tempDir (), "m.safetensors")
    Checkpoint.Save(plain, m)
    Assert.Null(TrainingCheckpoint.Load(plain, adam).Optimizer)

[<Fact>]
let ``a save over the states a kill leaves ends with one consistent pair and no previous file`` () =
    let m = model ()
    let a = Trainer.Run(adam, m, adam.Init m, batches, TrainOptions(Steps = 2))
    let d = tempDir ()
    TrainingCheckpoint.Save(d, adam, TrainSnapshot(2, a.Model, a.State), "r")
    File.Copy(Path.Combine(d, TrainingCheckpoint.OptimizerFileName), Path.Combine(d, TrainingCheckpoint.PreviousOptimizerFileName))
    let b = Trainer.Run(adam, a.Model, a.State, batches, TrainOptions(Steps = 1))
    TrainingCheckpoint.Save(d, adam, TrainSnapshot(3, b.Model, b.State), "r")
    Assert.False(File.Exists(Path.Combine(d, TrainingCheckpoint.PreviousOptimizerFileName)))
    Assert.Equal(3, TrainingCheckpoint.Load(Path.Combine(d, TrainingCheckpoint.ModelFileName), adam).Step)

[<Fact>]
let ``a cancelled run checkpoints its last step`` () =
    use cts = new Threading.CancellationTokenSource()
    let saved = Collections.Generic.List<int>()
    let opts = TrainOptions(Steps = 50, CheckpointEvery = 3, Cancellation = cts.Token,
                            OnStep = Action<StepReport>(fun r -> if r.Metrics.Step = 4 then cts.Cancel()),
                            OnCheckpoint = Action<TrainSnapshot>(fun s -> saved.Add s.Step))
    let run = Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)
    Assert.Equal(TrainOutcome.Cancelled, run.Outcome)
    Assert.Equal<int list>([ 3; 4 ], List.ofSeq saved)

[<Fact>]
let ``the data stream from position p is the stream with p batches skipped, across epochs`` () =
    let data = SyntheticDigits.Generate(50, Rng.Seed 1L)
    let key (b: Batch) = b.Epoch, b.Number, List.ofArray b.Indices
    let whole = Batches.Stream(data, 8, Rng.Seed 2L, dropLast = true) |> Seq.take 40 |> Seq.map key |> List.ofSeq
    for p in [ 0; 1; 5; 6; 13; 30 ] do
        let tail = Batches.StreamFrom(data, 8, Rng.Seed 2L, true, int64 p) |> Seq.take (40 - p) |> Seq.map key |> List.ofSeq
        Assert.Equal<(int * int * int list) list>(List.skip p whole, tail)

[<Fact>]
let ``metrics rows are carried up to the resumed step`` () =
    let path = Path.Combine(tempDir (), "metrics.csv")
    let row s = $"{s},1,2,3,4,5,6,7,8,9,10"
    MetricsCsv.Write(path, [ for s in 1 .. 9 -> row s ])
    Assert.Equal<string list>([ for s in 1 .. 4 -> row s ], MetricsCsv.ReadRows(path, 4) |> List.ofSeq)
    Assert.Empty(MetricsCsv.ReadRows(Path.Combine(tempDir (), "none.csv"), 4))
