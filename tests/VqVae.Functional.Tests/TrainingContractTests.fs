/// The training loop's small contracts on hand-made inputs: the health watch (divergence by a non-finite term
/// or by a total above Factor× its running median, blamed on the term that rose most; the collapse and
/// saturation warnings at their thresholds, once each; every message in full), step reports and metrics rows,
/// the batch schedule, and the trainer's argument checks (survivors of the training-files mutation run).
module VqVae.Functional.Tests.TrainingContractTests

open System
open System.Collections.Immutable
open Xunit
open VqVae.Functional.Codebooks
open VqVae.Functional.Training
open VqVae.Tensors.Tests.Refusals
open VqVae.Tensors.Tests

let private metrics step recon codebook commitment =
    StepMetrics(step, recon, codebook, commitment, recon + codebook + commitment, 1.0, 1, 0.0, ImmutableArray.Create<int>())

let private stats step (inStd: float) (outStd: float) (mean: float) =
    StepMetrics(step, 1f, 1f, 1f, 3f, 1.0, 1, 0.0, ImmutableArray.Create<int>(), InputStd = inStd, OutputStd = outStd, OutputMean = mean)

let private guarded factor window minSteps = TrainOptions(Divergence = DivergenceGuard(factor, window, minSteps))

[<Fact>]
let ``a non-finite term diverges at once, named, with its median when there is one`` () =
    let w = HealthWatch(4, guarded 100.0 50 20)
    let d = (nonNull (w.Diverged(metrics 1 1f nanf 1f)))
    Assert.Equal(("codebook", 1), (d.Term, d.Step))
    Assert.True(Double.IsNaN d.Median)
    Assert.Equal("training diverged at step 1: the codebook loss became NaN; lower the learning rate", d.Message)
    let w = HealthWatch(4, guarded 100.0 50 20)
    for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s (float32 s) 1f 1f))
    let d = (nonNull (w.Diverged(metrics 4 1f 1f infinityf)))
    Assert.Equal(("commitment", 1.0), (d.Term, d.Median))
    Assert.Equal("training diverged at step 4: the commitment loss became Infinity; lower the learning rate", d.Message)
    // Without a guard nothing is watched.
    Assert.Null(HealthWatch(4, TrainOptions(Divergence = null)).Diverged(metrics 1 nanf 1f 1f))

[<Fact>]
let ``a jump of the total above Factor times its median diverges only after MinSteps, blaming the term that rose most`` () =
    // Totals 3 (1+1+1) for three steps; a total of 3·10+ is more than 10× the median.
    let w = HealthWatch(4, guarded 10.0 50 3)
    for s in 1 .. 2 do Assert.Null(w.Diverged(metrics s 1f 1f 1f))
    Assert.Null(w.Diverged(metrics 3 1f 40f 1f))            // only two steps of history: not checked (and now recorded)
    let w = HealthWatch(4, guarded 10.0 50 3)
    for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s 1f 1f 1f))
    Assert.Null(w.Diverged(metrics 4 1f 1f 28f))             // total 30 = 10× the median: not above it
    let w = HealthWatch(4, guarded 10.0 50 3)
    for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s 1f 1f 1f))
    let d = (nonNull (w.Diverged(metrics 4 5f 30f 2f)))
    Assert.Equal(("codebook", 30f, 1.0), (d.Term, d.Value, d.Median))
    Assert.Equal("training diverged at step 4: the loss exploded, the codebook loss jumping to 30 from a running median of 1; lower the learning rate", d.Message)
    let w = HealthWatch(4, guarded 10.0 50 3)
    for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s 1f 1f 1f))
    Assert.Equal("recon", (nonNull (w.Diverged(metrics 4 31f 2f 2f))).Term)

[<Fact>]
let ``the median is over the last Window steps: the middle value, or the mean of the two middle ones`` () =
    // Window 2: after totals 30, 3, 3 the window holds 3 and 3 (median 3); 31 + ... is above 10×.
    let w = HealthWatch(4, guarded 10.0 2 1)
    Assert.Null(w.Diverged(metrics 1 28f 1f 1f))
    Assert.Null(w.Diverged(metrics 2 1f 1f 1f))
    Assert.Null(w.Diverged(metrics 3 1f 1f 1f))
    let d = (nonNull (w.Diverged(metrics 4 29f 1f 1f)))
    Assert.Equal(("recon", 1.0), (d.Term, d.Median))
    // An even history: recon medians of 1 and 3 average to 2.
    let w = HealthWatch(4, guarded 10.0 50 2)
    Assert.Null(w.Diverged(metrics 1 1f 1f 1f))
    Assert.Null(w.Diverged(metrics 2 3f 1f 1f))
    let d = (nonNull (w.Diverged(metrics 3 60f 1f 1f)))
    Assert.Equal(2.0, d.Median)
    // An odd history takes the middle of the sorted values, not of the arrival order.
    let w = HealthWatch(4, guarded 10.0 50 3)
    for s, r in [ 1, 5f; 2, 1f; 3, 2f ] do Assert.Null(w.Diverged(metrics s r 1f 1f))
    Assert.Equal(2.0, (nonNull (w.Diverged(metrics 4 80f 1f 1f))).Median)

[<Fact>]
let ``the history keeps exactly Window steps, a zero median checks nothing, and a total that overflows is blamed on the total`` () =
    let totals (w: HealthWatch) (ts: float32 list) = ts |> List.iteri (fun i t -> Assert.Null(w.Diverged(metrics (i + 1) t 0f 0f)))
    // Window 2 after totals 1, 1, 1, 1, 10: the median is of (1, 10) = 5.5, so 80 > 10 × 5.5 diverges
    // (a window of one step would see 10 and let it pass).
    let w = HealthWatch(4, guarded 10.0 2 1)
    totals w [ 1f; 1f; 1f; 1f; 10f ]
    Assert.Equal(5.5, (nonNull (w.Diverged(metrics 6 80f 0f 0f))).Median)
    // After 1, 1, 1, 10, 10 it is 10, so 50 passes (a history that never forgot would have median 1).
    let w = HealthWatch(4, guarded 10.0 2 1)
    totals w [ 1f; 1f; 1f; 10f; 10f ]
    Assert.Null(w.Diverged(metrics 6 50f 0f 0f))
    // A zero median (a perfect fit so far) has no multiple to exceed: nothing is checked.
    let w = HealthWatch(4, guarded 10.0 50 1)
    totals w [ 0f; 0f; 0f ]
    Assert.Null(w.Diverged(metrics 4 1f 0f 0f))
    // Finite terms whose float sum overflows: the total is the non-finite one.
    let d = nonNull (HealthWatch(4, guarded 10.0 50 1).Diverged(metrics 1 3e38f 3e38f 0f))
    Assert.Equal("total", d.Term)

[<Fact>]
let ``the term blamed is the one with the largest rise above its own median, the first of equal rises`` () =
    // Medians 1 each (three steps of 1, 1, 1; total median 3); Factor 2.
    let blamed recon codebook commitment =
        let w = HealthWatch(4, guarded 2.0 50 3)
        for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s 1f 1f 1f))
        (nonNull (w.Diverged(metrics 4 recon codebook commitment))).Term
    Assert.Equal("codebook", blamed 1f 101f 100f)                                     // rises 0, 100, 99
    Assert.Equal("commitment", blamed 1f 100f 101f)                                   // rises 0, 99, 100
    Assert.Equal("recon", blamed 51f 51f 1f)                                          // equal rises: the first
    // The rise is value − median, not value + median: a term with a large median and a small rise is not blamed.
    let w = HealthWatch(4, guarded 2.0 50 3)
    for s in 1 .. 3 do Assert.Null(w.Diverged(metrics s 1f 1f 50f))
    Assert.Equal("codebook", (nonNull (w.Diverged(metrics 4 1f 100f 60f))).Term)       // rises 0, 99, 10; sums 2, 101, 110

[<Fact>]
let ``collapse is warned once a full window uses fewer than max(2, K/10) codes, saturation after ten flat steps`` () =
    let usage used total = CodeUsage.FromCounts [ for i in 0 .. total - 1 -> if i < used then 5L else 0L ]
    let m s = metrics s 1f 1f 1f
    // K = 40: the floor is 4 codes; the window is full at min(UsageWindow, 50) steps.
    let w = HealthWatch(40, TrainOptions(UsageWindow = 10))
    Assert.Empty(w.Warnings(m 1, usage 3 40, 9))
    Assert.Empty(w.Warnings(m 2, usage 4 40, 10))
    let warned = w.Warnings(m 3, usage 3 40, 10) |> List.ofSeq
    Assert.Equal(TrainWarningKind.CodebookCollapse, warned.Head.Kind)
    Assert.StartsWith("codebook collapse at step 3: only 3 of 40 codes used over the last 10 steps (perplexity 3.0); try the EMA codebook or a smaller learning rate", warned.Head.Message)
    Assert.Empty(w.Warnings(m 4, usage 1 40, 10))           // once per run
    let noRestart = HealthWatch(40, TrainOptions(UsageWindow = 0, DeadCodes = null))
    Assert.Empty(noRestart.Warnings(m 1, usage 1 40, 49))    // with no window limit a full window is 50 steps
    Assert.EndsWith("turn dead-code restart on", (noRestart.Warnings(m 2, usage 1 40, 50) |> Seq.head).Message)
    // K = 2: nothing to collapse to.
    Assert.Empty(HealthWatch(2, TrainOptions(UsageWindow = 1)).Warnings(m 1, usage 1 2, 1))
    Assert.NotEmpty(HealthWatch(3, TrainOptions(UsageWindow = 1)).Warnings(m 1, usage 1 3, 1))
    // Saturation: output spread under 5% of the input's for 10 steps in a row; a normal step resets the count.
    let flat s mean = stats s 0.3 (0.3 * 0.05 - 1e-6) mean
    let w = HealthWatch(40, TrainOptions())
    let u = usage 40 40
    for s in 1 .. 9 do Assert.Empty(w.Warnings(flat s 0.5, u, 1))
    Assert.Empty(w.Warnings(stats 10 0.3 (0.3 * 0.05) 0.5, u, 1))   // exactly 5%: not flat
    for s in 11 .. 19 do Assert.Empty(w.Warnings(flat s 0.01, u, 1))
    let sat = w.Warnings(flat 20 0.01, u, 1) |> Seq.exactlyOne
    Assert.Equal("reconstructions saturated at step 20: the output is nearly constant (mean 0.010, spread 0.0150 against the images' 0.300), all black; lower the learning rate", sat.Message)
    let grey = HealthWatch(40, TrainOptions())
    for s in 1 .. 9 do grey.Warnings(flat s 0.05, u, 1) |> ignore
    Assert.Equal("reconstructions saturated at step 10: the output is nearly constant (mean 0.050, spread 0.0150 against the images' 0.300); lower the learning rate",
                 (grey.Warnings(flat 10 0.05, u, 1) |> Seq.exactlyOne).Message)
    // No input spread (blank images): never saturated.
    let blank = HealthWatch(40, TrainOptions())
    for s in 1 .. 12 do Assert.Empty(blank.Warnings(stats s 0.0 0.0 0.0, u, 1))
    Assert.Equal<TrainWarningKind list>([ TrainWarningKind.SaturatedOutput ], [ for i in w.Issued -> i.Kind ])

[<Fact>]
let ``a divergence guard refuses a factor, window or minimum out of range by name`` () =
    let refused name text (g: DivergenceGuard) = refusedAs<ArgumentOutOfRangeException> name text (fun () -> g.Validate()) |> ignore
    refused "Factor" "divergence: Factor must be finite and > 1, got 1." (DivergenceGuard(1.0))
    refused "Factor" "divergence: Factor must be finite and > 1, got Infinity." (DivergenceGuard(infinity))
    refused "Window" "divergence: Window must be ≥ 1, got 0." (DivergenceGuard(Window = 0))
    refused "MinSteps" "divergence: MinSteps must be ≥ 1, got 0." (DivergenceGuard(MinSteps = 0))
    let edge = DivergenceGuard(Math.BitIncrement 1.0, 1, 1)
    Assert.Same(edge, edge.Validate())
    // Terms are named as losses; anything else (z_e) as itself.
    Assert.Equal("training diverged at step 2: the encoder output became NaN; lower the learning rate", Divergence(2, "encoder output", nanf, nan).Message)
    for t in [ "recon"; "codebook"; "commitment"; "total" ] do
        Assert.Contains($"the {t} loss became", Divergence(2, t, nanf, nan).Message)

[<Fact>]
let ``a step report's throughput is images over seconds, 0 for no time; metrics rows read back only under their header`` () =
    let m = metrics 1 1f 1f 1f
    let u = CodeUsage.FromCounts [ 1L; 0L ]
    Assert.Equal(32.0, StepReport(m, 0.5, u, 16).ImagesPerSecond)
    Assert.Equal(0.0, StepReport(m, 0.0, u, 16).ImagesPerSecond)
    Assert.Equal(0.0, StepReport(m, -1.0, u, 16).ImagesPerSecond)
    let dir = Scratch.dir "csv"
    try
        let path = IO.Path.Combine(dir, "metrics.csv")
        let row s = MetricsCsv.Row(StepReport(metrics s 1f 1f 1f, 1.0, u, 8))
        MetricsCsv.Write(path, [ row 1; row 2; row 3 ])
        Assert.Equal<string list>([ row 1; row 2 ], List.ofSeq (MetricsCsv.ReadRows(path, 2)))
        IO.File.WriteAllText(path, "")
        Assert.Empty(MetricsCsv.ReadRows(path, 2))                       // an empty file: no rows, no error
        IO.File.WriteAllText(path, "step,other\n1,2\n")
        Assert.Empty(MetricsCsv.ReadRows(path, 2))                       // another header
        Assert.Empty(MetricsCsv.ReadRows(IO.Path.Combine(dir, "none.csv"), 2))
        refusedNaming "path" [] (fun () -> MetricsCsv.ReadRows("", 2)) |> ignore
        refusedNaming "path" [] (fun () -> MetricsCsv.Write("", [])) |> ignore
        Assert.Equal("rows", nullArgumentOf (fun () -> MetricsCsv.Write(path, Unchecked.defaultof<string seq>)))
        Assert.Equal("r", nullArgumentOf (fun () -> MetricsCsv.Row(Unchecked.defaultof<StepReport>)))
    finally
        IO.Directory.Delete(dir, true)
    // A run asked for more steps than an empty sequence can give says so; a run of exactly its steps stops there.
    refusedNaming "batches" [ "trainer: 3 steps were asked for but the batch sequence is empty." ] (fun () -> Trainer.Schedule([], Nullable 3) |> List.ofSeq) |> ignore
    let t = VqVae.Tensors.Tensor.Zeros 1
    Assert.Equal(5, Trainer.Schedule([ t; t ], Nullable 5) |> Seq.length)
    Assert.Equal(2, Trainer.Schedule([ t; t ], Nullable()) |> Seq.length)
    Assert.Empty(Trainer.Schedule([ t ], Nullable 0))

[<Fact>]
let ``the trainer names a null argument or a negative step count, and evaluates nothing when EvaluateEvery is 0`` () =
    let cfg = ModelTests.tiny
    let m = VqVae.Functional.Model.VqVaeModel.Init(cfg, VqVae.Tensors.Rng.Seed 1L)
    let adam = VqVae.Functional.Optim.Adam.Create 1e-3f
    let batches = [ VqVae.Tensors.Tensor.Uniform(VqVae.Tensors.Rng.Seed 2L, 0f, 1f, 2, 1, 8, 8) ]
    let state = (adam :> VqVae.Functional.Optim.IOptimizer).Init m
    let o = TrainOptions(Steps = 1)
    Assert.Equal("optimizer", nullArgumentOf (fun () -> Trainer.Run(Unchecked.defaultof<VqVae.Functional.Optim.IOptimizer>, m, state, batches, o)))
    Assert.Equal("model", nullArgumentOf (fun () -> Trainer.Run(adam, Unchecked.defaultof<VqVae.Functional.Model.VqVaeModel>, state, batches, o)))
    Assert.Equal("state", nullArgumentOf (fun () -> Trainer.Run(adam, m, Unchecked.defaultof<VqVae.Functional.Optim.OptimizerState<VqVae.Functional.Model.VqVaeModel>>, batches, o)))
    Assert.Equal("batches", nullArgumentOf (fun () -> Trainer.Run(adam, m, state, Unchecked.defaultof<VqVae.Tensors.Tensor seq>, o)))
    Assert.Equal("options", nullArgumentOf (fun () -> Trainer.Run(adam, m, state, batches, Unchecked.defaultof<TrainOptions>)))
    // With no batches no step runs to trip over a null optimizer or state: the trainer itself must refuse them.
    Assert.Equal("optimizer", nullArgumentOf (fun () -> Trainer.Run(Unchecked.defaultof<VqVae.Functional.Optim.IOptimizer>, m, state, [], o)))
    Assert.Equal("state", nullArgumentOf (fun () -> Trainer.Run(adam, m, Unchecked.defaultof<VqVae.Functional.Optim.OptimizerState<VqVae.Functional.Model.VqVaeModel>>, [], o)))
    refusedAs<ArgumentOutOfRangeException> "steps" "trainer: steps must be ≥ 0." (fun () -> Trainer.Run(adam, m, state, batches, Nullable -1)) |> ignore
    Assert.Empty((Trainer.Run(adam, m, state, batches, Nullable 0)).Metrics)
    let evaluated = ResizeArray<int>()
    let run = Trainer.Run(adam, m, state, batches, TrainOptions(Steps = 2, EvaluateEvery = 0, OnEvaluate = Action<_>(fun s -> evaluated.Add s.Step)))
    Assert.Equal(2, run.Metrics.Length)
    Assert.Empty(evaluated)
