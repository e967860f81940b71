/// Codebook health and divergence in the trainer (issue 15 item 1, issue 16 item 3): dead-code expiry
/// on by default, collapse and saturation warnings, a diverging run stopped with the step and the term.
module VqVae.Functional.Tests.CodebookHealthTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Functional.Codebooks
open VqVae.Tensors.Tests.Refusals

let private cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 16, codeDim = 2)
let private model () = VqVaeModel.Init(cfg, Rng.Seed 3L)
let private batches = [ for i in 0L .. 3L -> Tensor.Uniform(Rng.Seed(20L + i), 0f, 1f, 4, 1, 8, 8) ]
let private run (opts: TrainOptions) = let adam = Adam.Create 1e-3f in Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)

[<Fact>]
let ``dead-code expiry is on by default and moves exactly the codes unused over the window onto encoder outputs`` () =
    Assert.NotNull(TrainOptions().DeadCodes)
    let before = Collections.Generic.List<VqVaeModel>()
    let reports = Collections.Generic.List<StepReport>()
    let adam = Adam.Create 1e-3f
    let opts = TrainOptions(Steps = 4, UsageWindow = 4, DeadCodes = DeadCodePolicy(Every = 4), OnStep = Action<StepReport>(reports.Add))
    let off = Trainer.Run(adam, model (), adam.Init(model ()), batches, opts)
    let plain = Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(Steps = 4, DeadCodes = null))
    let dead = plain.Window.DeadCodes
    Assert.NotEmpty(dead)   // a fresh 16-code book on 4 small batches leaves codes unused
    Assert.Equal(dead.Length, off.RestartedCodes)
    Assert.Equal(dead.Length, reports[3].RestartedCodes)
    let rows = CodebookOps.EncoderRows(plain.Model, [ batches[3] ]).ToArray() |> Array.chunkBySize 2
    let e0, e1 = plain.Model.Codebook.Embedding.ToArray() |> Array.chunkBySize 2, off.Model.Codebook.Embedding.ToArray() |> Array.chunkBySize 2
    for k in 0 .. 15 do
        if Array.contains k dead then Assert.Contains(e1[k], rows) else Assert.Equal<float32[]>(e0[k], e1[k])

[<Fact>]
let ``dead-code expiry also moves the codes chosen by fewer rows than its share of the window, and only those`` () =
    let adam = Adam.Create 1e-3f
    // Codes seeded on the encoder's outputs (k-means) are chosen unevenly, so some are rare but not unused.
    let start = CodebookOps.KMeansInit(model (), batches, Rng.Seed 9L)
    let plain = Trainer.Run(adam, start, adam.Init start, batches, TrainOptions(Steps = 4, DeadCodes = null))
    let counts = plain.Window.Counts
    // 0.9 of an even share of the window's rows, rounded up, worked out here rather than by the policy.
    let below = int64 (ceil (0.9 * float (Seq.sum counts) / 16.0))
    let rare = [| for k in 0 .. 15 do if counts[k] < below then k |]
    Assert.True(rare |> Array.exists (fun k -> counts[k] > 0L), sprintf "the batches must leave a rare but used code (counts %s, below %d)" (String.Join(",", counts)) below)
    let opts = TrainOptions(Steps = 4, UsageWindow = 4, DeadCodes = DeadCodePolicy(Every = 4, MinShare = 0.9))
    let revived = Trainer.Run(adam, start, adam.Init start, batches, opts)
    Assert.Equal(rare.Length, revived.RestartedCodes)
    let e0, e1 = plain.Model.Codebook.Embedding.ToArray() |> Array.chunkBySize 2, revived.Model.Codebook.Embedding.ToArray() |> Array.chunkBySize 2
    let rows = CodebookOps.EncoderRows(plain.Model, [ batches[3] ]).ToArray() |> Array.chunkBySize 2
    for k in 0 .. 15 do
        if Array.contains k rare then Assert.Contains(e1[k], rows) else Assert.Equal<float32[]>(e0[k], e1[k])

[<Fact>]
let ``the dead-code bound is the larger of the row threshold and the share, rounded up`` () =
    let usage n = CodeUsage.FromCounts(Array.init 128 (fun k -> if k = 0 then n else 0L))
    Assert.Equal(10L, DeadCodePolicy.Default.ThresholdFor(usage 12800L))      // 0.1 × 12800 / 128
    Assert.Equal(11L, DeadCodePolicy.Default.ThresholdFor(usage 12801L))      // 10.0008 → 11: "fewer than" 10.0008 is ≤ 10
    Assert.Equal(1L, DeadCodePolicy.Default.ThresholdFor(usage 130L))         // 0.10… → 1, the never-chosen codes only
    Assert.Equal(1L, DeadCodePolicy.Default.ThresholdFor(usage 0L))
    Assert.Equal(3L, DeadCodePolicy(Threshold = 3, MinShare = 0.0).ThresholdFor(usage 12800L))
    Assert.Equal(25L, DeadCodePolicy(Threshold = 3, MinShare = 0.25).ThresholdFor(usage 12800L))
    for bad in [ -0.1; 1.0; nan; infinity ] do
        refusedAs<ArgumentOutOfRangeException> "MinShare" "deadCodes: MinShare must be in [0, 1)" (fun () -> DeadCodePolicy(MinShare = bad).Validate()) |> ignore

[<Fact>]
let ``a collapsed codebook is warned about once, with the step and the count`` () =
    let flat = [ Tensor.Full(0.5f, 4, 1, 8, 8) ]
    let seen = Collections.Generic.List<TrainWarning>()
    let adam = Adam.Create 1e-3f
    let opts = TrainOptions(Steps = 8, UsageWindow = 3, DeadCodes = null, OnWarning = Action<TrainWarning>(seen.Add))
    let r = Trainer.Run(adam, model (), adam.Init(model ()), flat, opts)
    let w = Assert.Single(seen)
    Assert.Equal(TrainWarningKind.CodebookCollapse, w.Kind)
    Assert.Equal(3, w.Step)
    Assert.Contains("only 1 of 16 codes", w.Message)
    Assert.Equal<TrainWarning list>(List.ofSeq seen, List.ofSeq r.Warnings)

[<Fact>]
let ``an all-black output is warned about after ten steps`` () =
    let m = model ()
    let layers = m.Decoder.Layers.Layers
    let lastConv = layers[layers.Length - 2] :?> ConvTranspose2dLayer
    let black = ConvTranspose2dLayer(Tensor.Zeros(lastConv.Weight.Shape), Tensor.Full(-40f, lastConv.Bias.Shape), lastConv.Stride, lastConv.Padding, lastConv.OutputPadding, lastConv.Dilation)
    let m = m.With(decoder = Decoder(Sequential.Of([| for i in 0 .. layers.Length - 1 -> if i = layers.Length - 2 then black :> ILayer else layers[i] |])))
    let seen = Collections.Generic.List<TrainWarning>()
    let sgd = Sgd.Create(1e-6f)
    let r = Trainer.Run(sgd, m, sgd.Init m, batches, TrainOptions(Steps = 12, OnWarning = Action<TrainWarning>(seen.Add)))
    let w = seen |> Seq.find (fun w -> w.Kind = TrainWarningKind.SaturatedOutput)
    Assert.Equal(10, w.Step)
    Assert.Contains("all black", w.Message)

[<Fact>]
let ``a non-finite loss stops the run with the step and the term, keeping the last sane model`` () =
    let adam = Adam.Create 1e30f
    let r = Trainer.Run(adam, model (), adam.Init(model ()), batches, TrainOptions(Steps = 30))
    Assert.Equal(TrainOutcome.Diverged, r.Outcome)
    let d = nonNull r.Divergence
    Assert.Equal(r.Metrics.Length + 1, d.Step)
    Assert.Contains($"at step {d.Step}", d.Message)
    Assert.Contains(d.Term, d.Message)
    Assert.True(r.Metrics |> Seq.forall (fun m -> Single.IsFinite m.Total))

[<Fact>]
let ``a tiny term that grows 100 times while the total does not is no divergence`` () =
    // the false alarm seen on a real run: a codebook term of 3.5e-10 rising to 5e-8
    let adam = Adam.Create 1e-4f
    let ok = Trainer.Run(adam, model (), adam.Init(model ()), List.replicate 30 batches[0], TrainOptions(DeadCodes = null, Divergence = DivergenceGuard(Factor = 1.5, MinSteps = 3)))
    Assert.Equal(TrainOutcome.Completed, ok.Outcome)

[<Fact>]
let ``a loss that explodes past 100 times its running median stops the run at that step`` () =
    let normal = List.replicate 25 batches[0]
    let huge = batches[1] * 1e4f
    let adam = Adam.Create 1e-4f
    let r = Trainer.Run(adam, model (), adam.Init(model ()), normal @ [ huge ], TrainOptions(DeadCodes = null))
    Assert.Equal(TrainOutcome.Diverged, r.Outcome)
    let d = nonNull r.Divergence
    Assert.Equal(26, d.Step)
    Assert.Equal(25, r.State.Step)
    Assert.True(float d.Value > 100.0 * d.Median)
    Assert.Equal(26, r.Metrics.Length + 1)
    // without the guard it runs on
    let off = Trainer.Run(adam, model (), adam.Init(model ()), normal @ [ huge ], TrainOptions(DeadCodes = null, Divergence = null))
    Assert.Equal(TrainOutcome.Completed, off.Outcome)

[<Fact>]
let ``a dead-code policy refuses a check interval or a row threshold below 1, by name`` () =
    let lowest = DeadCodePolicy(Every = 1, Threshold = 1, MinShare = 0.0)
    Assert.Same(lowest, lowest.Validate())
    DeadCodePolicy(Every = 2, Threshold = 2, MinShare = 0.999).Validate() |> ignore
    let refused (name: string) (text: string) (p: DeadCodePolicy) = refusedAs<ArgumentOutOfRangeException> name text (fun () -> p.Validate()) |> ignore
    refused "Every" "deadCodes: Every must be ≥ 1 step, got 0." (DeadCodePolicy(Every = 0))
    refused "Threshold" "deadCodes: Threshold must be ≥ 1 row, got 0." (DeadCodePolicy(Threshold = 0))
    refused "MinShare" "deadCodes: MinShare must be in [0, 1), got 1." (DeadCodePolicy(MinShare = 1.0))
    Assert.Equal("usage", Assert.Throws<ArgumentNullException>(fun () -> DeadCodePolicy.Default.ThresholdFor(Unchecked.defaultof<CodeUsage>) |> ignore).ParamName)
