/// The model-level training entry points beside the loop: Trainer.Fit's phases, the pretrain-and-k-means recipe,
/// and the codebook operations (encoder rows, k-means from the first batches, dead-code restart). Their argument
/// contracts and the choices they make (which batches k-means reads, which loss pretraining uses, what comes
/// back when nothing moved), written against the survivors of the training files' mutation run.
module VqVae.Functional.Tests.TrainingRecipesTests

open System
open System.Collections.Immutable
open System.Threading
open Xunit
open VqVae.Functional.Codebooks
open VqVae.Functional.Layers
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Tensors
open VqVae.Tensors.Tests.Refusals

let private model () = VqVaeModel.Init(ModelTests.tiny, Rng.Seed 1L)
let private images seed n h w = Tensor.Uniform(Rng.Seed seed, 0f, 1f, n, 1, h, w)
let private codebookOf (m: VqVaeModel) = m.Codebook.Embedding.ToArray()

[<Fact>]
let ``encoder rows are every batch's latents as channel-last rows; no batches or a null argument is refused by name`` () =
    let m = model ()
    let a, b = images 2L 2 8 8, images 3L 3 8 8
    let rows = CodebookOps.EncoderRows(m, [ a; b ])
    // tiny downsamples by 4: 2·2·2 + 3·2·2 rows of D = 2, in batch order.
    Assert.Equal<int[]>([| 20; 2 |], rows.Shape)
    let one (x: Tensor) = CodebookOps.EncoderRows(m, [ x ]).ToArray()
    Assert.Equal<float32[]>(Array.append (one a) (one b), rows.ToArray())
    refusedNaming "batches" [ "encoderRows: no batches were given." ] (fun () -> CodebookOps.EncoderRows(m, [])) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> CodebookOps.EncoderRows(Unchecked.defaultof<VqVaeModel>, [])))
    Assert.Equal("batches", nullArgumentOf (fun () -> CodebookOps.EncoderRows(m, Unchecked.defaultof<Tensor seq>)))

[<Fact>]
let ``k-means from batches reads the first batches until they hold 4K rows, and no further`` () =
    // K = 8 wants 32 rows; a batch of two 8×16 images gives 2·2·4 = 16 rows, so exactly the first two are read.
    let m = model ()
    let b1, b2, b3 = images 4L 2 8 16, images 5L 2 8 16, images 6L 2 8 16
    let fromRows bs = codebookOf (CodebookOps.KMeansInit(m, CodebookOps.EncoderRows(m, bs), Rng.Seed 7L))
    let expected = fromRows [ b1; b2 ]
    Assert.Equal<float32[]>(expected, codebookOf (CodebookOps.KMeansInit(m, [ b1; b2; b3 ], Rng.Seed 7L)))
    // The neighbouring choices give other codebooks, so the equality above pins the count.
    Assert.NotEqual<float32[]>(expected, fromRows [ b1 ])
    Assert.NotEqual<float32[]>(expected, fromRows [ b1; b2; b3 ])
    Assert.Equal("model", nullArgumentOf (fun () -> CodebookOps.KMeansInit(Unchecked.defaultof<VqVaeModel>, [ b1 ], Rng.Seed 7L)))
    Assert.Equal("batches", nullArgumentOf (fun () -> CodebookOps.KMeansInit(m, Unchecked.defaultof<Tensor seq>, Rng.Seed 7L)))

/// An EMA model's statistics restart from the k-means codebook (a count of 1 per code, sums equal to the codes), or its
/// first EMA step would pull the codes back toward the old ones; a straight-through model gets none.
[<Fact>]
let ``k-means init restarts an EMA model's statistics from the new codebook`` () =
    let ema = VqVaeModel.Init(ModelTests.tiny.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let b = images 4L 2 8 16
    let started = CodebookOps.KMeansInit(ema, [ b ], Rng.Seed 7L)
    let stats = match started.Ema with null -> failwith "k-means init dropped the EMA statistics" | s -> s
    Assert.Equal<float32[]>(codebookOf started, stats.EmaW.ToArray())
    Assert.Equal<float32[]>(Array.create 8 1f, stats.ClusterSize.ToArray())
    Assert.NotEqual<float32[]>(codebookOf ema, codebookOf started)
    Assert.Null((CodebookOps.KMeansInit(model (), [ b ], Rng.Seed 7L)).Ema)

[<Fact>]
let ``dead-code restart gives back the same model when no code was moved, and names a null argument`` () =
    let m = model ()
    let rows = CodebookOps.EncoderRows(m, [ images 2L 2 8 8 ])
    let everyCodeUsed = CodeUsage.FromCounts(Array.create 8 5L)
    let struct (same, moved) = CodebookOps.DeadCodeRestart(m, rows, everyCodeUsed, DeadCodePolicy(MinShare = 0.0), Rng.Seed 3L)
    Assert.Empty(moved)
    Assert.Same(m, same)
    let policy = DeadCodePolicy(MinShare = 0.0)
    Assert.Equal("model", nullArgumentOf (fun () -> CodebookOps.DeadCodeRestart(Unchecked.defaultof<VqVaeModel>, rows, everyCodeUsed, policy, Rng.Seed 3L)))
    Assert.Equal("policy", nullArgumentOf (fun () -> CodebookOps.DeadCodeRestart(m, rows, everyCodeUsed, Unchecked.defaultof<DeadCodePolicy>, Rng.Seed 3L)))
    Assert.Equal("usage", nullArgumentOf (fun () -> CodebookOps.DeadCodeRestart(m, rows, Unchecked.defaultof<CodeUsage>, policy, Rng.Seed 3L)))

[<Fact>]
let ``pretraining uses BCE only for a sigmoid decoder under MSE on [0, 1] pixels`` () =
    let lossOf (cfg: VqVaeConfig) = Recipes.PretrainLoss(VqVaeModel.Init(cfg, Rng.Seed 0L))
    Assert.Equal(ReconstructionLoss.Bce, lossOf ModelTests.tiny)                                          // sigmoid, MSE, shift 0
    Assert.Equal(ReconstructionLoss.Mse, lossOf (ModelTests.tiny.With(architecture = Architecture.Compact))) // no sigmoid
    Assert.Equal(ReconstructionLoss.Mse, lossOf (ModelTests.tiny.With(inputShift = -0.5f)))                // pixels shifted
    Assert.Equal(ReconstructionLoss.MseOverVariance, lossOf (ModelTests.tiny.With(reconstruction = ReconstructionLoss.MseOverVariance)))
    // A decoder without layers has no sigmoid to saturate (and is not an index error).
    let bare = model () |> fun m -> m.With(decoder = Decoder(Sequential(ImmutableArray<ILayer>.Empty)))
    Assert.Equal(ReconstructionLoss.Mse, Recipes.PretrainLoss bare)

[<Fact>]
let ``the pretrain-k-means-EMA recipe refuses a model without the EMA quantizer or its statistics, and no batches, by name`` () =
    let adam = Adam.Create 1e-3f
    let batches = [ images 2L 2 8 8 ]
    let ema = VqVaeModel.Init(ModelTests.tiny.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    refusedAs<ArgumentException> "model" "pretrainKMeansEma: the model must use the EMA quantizer (config Quantizer = Ema), got Straight."
        (fun () -> Recipes.PretrainKMeansEma(model (), adam, batches, 1, 1, Rng.Seed 0L)) |> ignore
    refusedAs<ArgumentException> "model" "pretrainKMeansEma: the model's config uses the EMA quantizer but the model holds no EMA statistics (Ema is null)"
        (fun () -> Recipes.PretrainKMeansEma(VqVaeModel(ema.Config, ema.Encoder, ema.Codebook, ema.Decoder, null), adam, batches, 1, 1, Rng.Seed 0L)) |> ignore
    refusedAs<ArgumentException> "batches" "pretrainKMeansEma: no batches were given."
        (fun () -> Recipes.PretrainKMeansEma(ema, adam, [], 1, 1, Rng.Seed 0L)) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> Recipes.PretrainKMeansEma(Unchecked.defaultof<VqVaeModel>, adam, batches, 1, 1, Rng.Seed 0L)))
    Assert.Equal("optimizer", nullArgumentOf (fun () -> Recipes.PretrainKMeansEma(ema, Unchecked.defaultof<IOptimizer>, batches, 1, 1, Rng.Seed 0L)))
    // A null optimizer is named before the model's kind or the batches are judged.
    Assert.Equal("optimizer", nullArgumentOf (fun () -> Recipes.PretrainKMeansEma(ema, Unchecked.defaultof<IOptimizer>, [], 1, 1, Rng.Seed 0L)))
    Assert.Equal("batches", nullArgumentOf (fun () -> Recipes.PretrainKMeansEma(ema, adam, Unchecked.defaultof<Collections.Generic.IReadOnlyList<Tensor>>, 1, 1, Rng.Seed 0L)))

[<Fact>]
let ``Fit announces and runs its phases: pretraining (saying when BCE stands in), then k-means, then the run`` () =
    let adam = Adam.Create 1e-3f
    let batches = [ images 2L 2 8 8; images 3L 2 8 8 ]
    let phases = ResizeArray<string>()
    let plan cfg = TrainPlan(VqVaeModel.Init(cfg, Rng.Seed 1L), adam, PretrainSteps = 2, KMeansInit = true, OnPhase = Action<string>(phases.Add))
    let run = Trainer.Fit(plan ModelTests.tiny, batches, TrainOptions(Steps = 1))
    Assert.Equal<string list>(
        [ "pretraining the autoencoder for 2 step(s) (codebook bypassed; BCE for the sigmoid output)"
          "initialising the 8 codes by k-means on encoder outputs" ], List.ofSeq phases)
    Assert.Equal(1, run.Metrics.Length)
    phases.Clear()
    Trainer.Fit(plan (ModelTests.tiny.With(architecture = Architecture.Compact)), batches, TrainOptions(Steps = 1)) |> ignore
    Assert.Equal("pretraining the autoencoder for 2 step(s) (codebook bypassed)", phases[0])
    // Without pretraining or k-means, Fit is the plain run from the plan's model.
    phases.Clear()
    let plain = TrainPlan(model (), adam, OnPhase = Action<string>(phases.Add))
    let fitted = Trainer.Fit(plain, batches, TrainOptions(Steps = 2))
    Assert.Empty(phases)
    let direct = Trainer.Run(adam, model (), batches, Nullable 2)
    Assert.Equal<float32[]>(codebookOf direct.Model, codebookOf fitted.Model)
    Assert.Equal("plan", nullArgumentOf (fun () -> Trainer.Fit(Unchecked.defaultof<TrainPlan>, batches, TrainOptions())))
    Assert.Equal("batches", nullArgumentOf (fun () -> Trainer.Fit(plain, Unchecked.defaultof<Tensor seq>, TrainOptions())))
    Assert.Equal("options", nullArgumentOf (fun () -> Trainer.Fit(plain, batches, Unchecked.defaultof<TrainOptions>)))

[<Fact>]
let ``the trainer validates its options and names a saved window of the wrong size under options`` () =
    let adam = Adam.Create 1e-3f
    let batches = [ images 2L 2 8 8 ]
    refusedAs<ArgumentOutOfRangeException> "CheckpointEvery" "trainer: CheckpointEvery must be ≥ 0"
        (fun () -> Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(CheckpointEvery = -1))) |> ignore
    let window = [| [| 1L; 2L |] :> Collections.Generic.IReadOnlyList<int64> |] :> Collections.Generic.IReadOnlyList<_>
    let e = refusedAs<ArgumentException> "options" "trainer: Window: usage window: a saved row has counts for 2 codes, expected 8."
                (fun () -> Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(Window = window)))
    Assert.DoesNotContain("Parameter 'rows'", e.Message)

[<Fact>]
let ``a run cancelled after a step that was not checkpointed saves that step once; one already saved is not saved again`` () =
    let adam = Adam.Create 1e-3f
    let batches = [ images 2L 2 8 8 ]
    let savedSteps every =
        use cts = new CancellationTokenSource()
        let saved = ResizeArray<int>()
        let opts = TrainOptions(Steps = 5, CheckpointEvery = every, Cancellation = cts.Token,
                                OnCheckpoint = Action<TrainSnapshot>(fun s -> saved.Add s.Step),
                                OnStep = Action<StepReport>(fun r -> if r.Metrics.Step = 1 then cts.Cancel()))
        let run = Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)
        Assert.Equal(TrainOutcome.Cancelled, run.Outcome)
        List.ofSeq saved
    Assert.Equal<int list>([ 1 ], savedSteps 0)
    Assert.Equal<int list>([ 1 ], savedSteps 1)

[<Fact>]
let ``a non-finite encoder output ends a guarded run as divergence of the encoder output; unguarded it is thrown`` () =
    let adam = Adam.Create 1e-3f
    let bad = Tensor.FromArray(Array.create 64 nanf, [| 1; 1; 8; 8 |])
    let run = Trainer.Run(adam, model (), adam.Init(model ()), [ bad ], TrainOptions(Steps = 1))
    Assert.Equal(TrainOutcome.Diverged, run.Outcome)
    let d = nonNull run.Divergence
    Assert.Equal(("encoder output", 1), (d.Term, d.Step))
    Assert.Empty(run.Metrics)
    Assert.Throws<NotFiniteNumberException>(fun () ->
        Trainer.Run(adam, model (), adam.Init(model ()), [ bad ], TrainOptions(Steps = 1, Divergence = null)) |> ignore) |> ignore

[<Fact>]
let ``the schedule of no steps over no batches is empty, not a refusal`` () =
    Assert.Empty(Trainer.Schedule([], Nullable 0))
