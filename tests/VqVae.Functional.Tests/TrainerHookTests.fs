/// The trainer's hooks (DESIGN: the one training path): sliding-window usage, evaluation, cancellation, Fit's phases.
module VqVae.Functional.Tests.TrainerHookTests

open System
open System.Threading
open Xunit
open VqVae.Tensors
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Codebooks
open VqVae.Functional.Training

let private cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
let private model () = VqVaeModel.Init(cfg, Rng.Seed 3L)
let private batches = [ for i in 0L .. 2L -> Tensor.Uniform(Rng.Seed(10L + i), 0f, 1f, 2, 1, 8, 8) ]

[<Fact>]
let ``the window counts exactly the last N steps' codes and the run's usage all of them`` () =
    let reports = Collections.Generic.List<StepReport>()
    let opts = TrainOptions(Steps = 7, UsageWindow = 3, OnStep = Action<StepReport>(reports.Add))
    let run = Trainer.Run(Adam.Create 1e-2f, model (), (Adam.Create 1e-2f).Init(model ()), batches, opts)
    Assert.Equal(7, reports.Count)
    for i in 0 .. 6 do
        let lo = max 0 (i - 2)
        let expected = [ for k in 0 .. cfg.CodebookSize - 1 -> seq { lo .. i } |> Seq.sumBy (fun j -> int64 reports[j].Metrics.CodeCounts[k]) ]
        Assert.Equal<int64 list>(expected, List.ofSeq reports[i].Window.Counts)
        Assert.Equal(2, reports[i].Images)
    Assert.Equal<int64 list>(List.ofSeq reports[6].Window.Counts, List.ofSeq run.Window.Counts)
    Assert.Equal(7L * 2L * 4L, run.Usage.Total)
    Assert.Equal(TrainOutcome.Completed, run.Outcome)

[<Fact>]
let ``evaluation is called every N steps and after the last, with the model of that step`` () =
    let seen = Collections.Generic.List<int * VqVaeModel>()
    let steps = Collections.Generic.List<VqVaeModel>()
    let adam = Adam.Create 1e-2f
    let opts = TrainOptions(Steps = 7, EvaluateEvery = 3, OnEvaluate = Action<TrainSnapshot>(fun s -> seen.Add((s.Step, s.Model))))
    let run = Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)
    Assert.Equal<int list>([ 3; 6; 7 ], seen |> Seq.map fst |> List.ofSeq)
    Assert.Same(run.Model, snd seen[2])

[<Fact>]
let ``cancellation stops before the next step and says so`` () =
    use cts = new CancellationTokenSource()
    let adam = Adam.Create 1e-2f
    let opts = TrainOptions(Steps = 50, Cancellation = cts.Token, OnStep = Action<StepReport>(fun r -> if r.Metrics.Step = 4 then cts.Cancel()))
    let run = Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)
    Assert.Equal(TrainOutcome.Cancelled, run.Outcome)
    Assert.Equal(4, run.Metrics.Length)
    Assert.Equal(4, run.State.Step)

[<Fact>]
let ``a resumed run continues the optimizer's step count and equals the uninterrupted run bit for bit`` () =
    let adam = Adam.Create 1e-2f
    let whole = Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(Steps = 6))
    let first = Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(Steps = 3))
    let second = Trainer.Fit(TrainPlan(first.Model, adam, State = first.State), batches, TrainOptions(Steps = 3))
    Assert.Equal<int list>([ 4; 5; 6 ], second.Metrics |> Seq.map (fun m -> m.Step) |> List.ofSeq)
    let bits (m: VqVaeModel) = Tree.Leaves m |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq
    Assert.Equal<float32[]>(bits whole.Model, bits second.Model)

[<Fact>]
let ``fit with k-means seeds the codebook from encoder outputs before the first step`` () =
    let adam = Adam.Create 1e-2f
    let phases = Collections.Generic.List<string>()
    let plan = TrainPlan(model (), adam, KMeansInit = true, Rng = Rng.Seed 1L, OnPhase = Action<string>(phases.Add))
    let run = Trainer.Fit(plan, batches, TrainOptions(Steps = 0))
    let expected = CodebookOps.KMeansInit(model (), batches, Rng.Seed(1L).Fold(2))
    Assert.Equal<float32[]>(expected.Codebook.Embedding.ToArray(), run.Model.Codebook.Embedding.ToArray())
    Assert.NotEqual<float32[]>(model().Codebook.Embedding.ToArray(), run.Model.Codebook.Embedding.ToArray())
    Assert.Single(phases) |> ignore

[<Fact>]
let ``options refuse negative counts by name`` () =
    for bad in [ TrainOptions(Steps = -1); TrainOptions(UsageWindow = -1); TrainOptions(EvaluateEvery = -2) ] do
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> bad.Validate() |> ignore) |> ignore
