/// The VQ-VAE-2 training step's contracts (Hierarchical/VqVae2Training.cs) before its first mutation run: what
/// Apply reports against the loss terms it differentiated, the update it makes, the per-level EMA update with the
/// config's decay and ε, the per-level dead-code restart with its own random stream per level, and the single-level
/// view of a step that progress output and the health watch read.
module VqVae.Functional.Tests.VqVae2StepContractTests

open System
open System.Collections.Immutable
open Xunit
open VqVae.Tensors
open VqVae.Functional.Codebooks
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Quantization
open VqVae.Functional.Training
open VqVae.Functional.Hierarchical
open VqVae.Tensors.Tests.Refusals

let private tiny = HierarchicalContractTests.tiny
let private images seed = Tensor.Uniform(Rng.Seed seed, 0f, 1f, 4, 1, 16, 16)
let private leaves (m: VqVae2Model) = Tree.Leaves(m) |> Seq.map (fun l -> l.Value.ToArray()) |> Array.ofSeq

let private emaOf (l: QuantizerLevel) = match l.Ema with | null -> failwith "the level has no EMA state" | e -> e
let private sizes (state: EmaState | null) = match state with | null -> [||] | e -> e.ClusterSize.ToArray()

let private close (what: string) (expected: float) (actual: float) =
    Assert.True(abs (expected - actual) <= 1e-6 * (1.0 + abs expected), $"{what}: expected {expected}, got {actual}")

[<Fact>]
let ``a step reports the terms it differentiated, both levels' usage, the gradient's norm and the pixel figures`` () =
    let m0 = VqVae2Model.Init(tiny, Rng.Seed 4L)
    let x = images 1L
    let adam = Adam.Create 1e-3f
    let struct (m1, s1, metrics) = VqVae2TrainStep.Apply(adam, m0, adam.Init m0, x)
    let t = VqVae2Model.LossTerms(m0, x)
    Assert.Equal(1, metrics.Step)
    Assert.Equal(1, s1.Step)
    Assert.Equal(t.Recon.ToScalar(), metrics.Recon)
    Assert.Equal(t.CodebookTop.ToScalar(), metrics.CodebookTop)
    Assert.Equal(t.CodebookBottom.ToScalar(), metrics.CodebookBottom)
    Assert.Equal(t.CommitmentTop.ToScalar(), metrics.CommitmentTop)
    Assert.Equal(t.CommitmentBottom.ToScalar(), metrics.CommitmentBottom)
    Assert.Equal(t.Total.ToScalar(), metrics.Total)
    Assert.Equal(t.TopQuantized.Perplexity, metrics.PerplexityTop)
    Assert.Equal(t.BottomQuantized.Perplexity, metrics.PerplexityBottom)
    Assert.Equal<int seq>(t.TopQuantized.Counts, metrics.TopCounts)
    Assert.Equal<int seq>(t.BottomQuantized.Counts, metrics.BottomCounts)
    // The update is the optimizer's, on the total's gradients, and the norm is those gradients' before any clipping.
    let struct (_, grads) = Grad.ValueAndGrad(Func<VqVae2Model, Tensor>(fun m -> VqVae2Model.LossTerms(m, x).Total), m0)
    close "gradient norm" (grads.GlobalNorm()) metrics.GradientNorm
    let struct (expected, _) = adam.Update(grads, adam.Init m0, m0)
    Assert.Equal<float32[][]>(leaves expected, leaves m1)
    let outMean, outStd = TrainingHelpers.meanStd t.XHat
    close "output mean" outMean metrics.OutputMean
    close "output std" outStd metrics.OutputStd
    close "input std" (snd (TrainingHelpers.meanStd x)) metrics.InputStd
    Assert.True(metrics.InputStd > 0.0 && metrics.OutputStd > 0.0)

[<Fact>]
let ``the EMA update moves each level by its own assignments with the config's decay and epsilon`` () =
    // tiny with EMA quantizers, decay 0.5 and ε 0.25 (VqVae2Config.With has no EMA settings).
    let cfg = VqVae2Config(1, 8, 6, 10, 3, 0.25f, ResidualLayers = 1, ResidualHidden = 4, Quantizer = QuantizerKind.Ema, EmaDecay = 0.5f, EmaEpsilon = 0.25f)
    let m0 = VqVae2Model.Init(cfg, Rng.Seed 6L)
    let t = VqVae2Model.LossTerms(m0, images 2L)
    let m1 = VqVae2TrainStep.EmaStep(m0, t.TopQuantized, t.BottomQuantized)
    let level (l: QuantizerLevel) (q: Quantized) =
        let struct (state, codebook) = Ema.Update(emaOf l, l.Codebook.Embedding, q.Rows(), q.Indices.ToArray(), 0.5f, 0.25f)
        codebook.ToArray(), state.ClusterSize.ToArray(), state.EmaW.ToArray()
    let got (l: QuantizerLevel) = l.Codebook.Embedding.ToArray(), (emaOf l).ClusterSize.ToArray(), (emaOf l).EmaW.ToArray()
    Assert.Equal(level m0.Top t.TopQuantized, got m1.Top)
    Assert.Equal(level m0.Bottom t.BottomQuantized, got m1.Bottom)
    // The config's decay matters: the default 0.99 moves the codebook less.
    let struct (_, slow) = Ema.Update(emaOf m0.Bottom, m0.Bottom.Codebook.Embedding, t.BottomQuantized.Rows(), t.BottomQuantized.Indices.ToArray(), 0.99f, 0.25f)
    Assert.NotEqual<float32[]>(slow.ToArray(), m1.Bottom.Codebook.Embedding.ToArray())
    Assert.Same(m0.EncoderBottom, m1.EncoderBottom)
    Assert.Equal("model", nullArgumentOf (fun () -> VqVae2TrainStep.EmaStep(Unchecked.defaultof<VqVae2Model>, t.TopQuantized, t.BottomQuantized)))
    Assert.Equal("top", nullArgumentOf (fun () -> VqVae2TrainStep.EmaStep(m0, Unchecked.defaultof<Quantized>, t.BottomQuantized)))
    Assert.Equal("bottom", nullArgumentOf (fun () -> VqVae2TrainStep.EmaStep(m0, t.TopQuantized, Unchecked.defaultof<Quantized>)))

[<Theory>]
[<InlineData(false)>]
[<InlineData(true)>]
let ``dead-code restart moves each level's codes below that level's threshold onto its own rows, each level with its own stream`` (ema: bool) =
    let cfg = if ema then tiny.With(quantizer = QuantizerKind.Ema) else tiny
    let m0 = VqVae2Model.Init(cfg, Rng.Seed 8L)
    let x = images 3L
    // Top (6 codes): codes 1 and 4 are dead; bottom (10 codes): codes 0, 2 and 9. Threshold 1, no share.
    let top = CodeUsage.FromCounts([ 5L; 0L; 7L; 3L; 0L; 9L ])
    let bottom = CodeUsage.FromCounts([ 0L; 4L; 0L; 6L; 2L; 8L; 1L; 3L; 5L; 0L ])
    let policy = DeadCodePolicy(Threshold = 1, MinShare = 0.0)
    let rng = Rng.Seed 11L
    let struct (m1, restarted) = VqVae2TrainStep.DeadCodeRestart(m0, x, top, bottom, policy, rng)
    Assert.Equal(5, restarted)
    let t = VqVae2Model.LossTerms(m0, x)
    let expect (l: QuantizerLevel) (q: Quantized) usage (r: Rng) =
        let struct (cb, state, moved) = DeadCodes.Restart(l.Codebook.Embedding, l.Ema, q.Rows(), usage, 1L, r)
        cb.ToArray(), sizes state, moved
    let got (l: QuantizerLevel) = l.Codebook.Embedding.ToArray(), sizes l.Ema
    let cbT, nT, movedT = expect m0.Top t.TopQuantized top (rng.Fold 0L)
    let cbB, nB, movedB = expect m0.Bottom t.BottomQuantized bottom (rng.Fold 1L)
    Assert.Equal<int[]>([| 1; 4 |], movedT)
    Assert.Equal<int[]>([| 0; 2; 9 |], movedB)
    Assert.Equal((cbT, nT), got m1.Top)
    Assert.Equal((cbB, nB), got m1.Bottom)
    // Another stream picks other rows, so the equalities above pin which stream each level draws from.
    let cbOther, _, _ = expect m0.Bottom t.BottomQuantized bottom (rng.Fold 0L)
    Assert.NotEqual<float32[]>(cbOther, fst (got m1.Bottom))
    Assert.Same(m0.Decoder, m1.Decoder)

[<Fact>]
let ``dead-code restart reads each level's threshold from the policy and that level's usage`` () =
    let m0 = VqVae2Model.Init(tiny, Rng.Seed 8L)
    // MinShare 0.5: top 60 rows over 6 codes → below 5 (codes 0 and 4); bottom 200 rows over 10 codes → below 10
    // (code 0). Either level judged by the other's bound, or by the bare Threshold 1, restarts another number.
    let top = CodeUsage.FromCounts([ 4L; 5L; 11L; 20L; 4L; 16L ])
    let bottom = CodeUsage.FromCounts([ 9L; 10L; 10L; 60L; 10L; 10L; 10L; 61L; 10L; 10L ])
    let policy = DeadCodePolicy(Threshold = 1, MinShare = 0.5)
    Assert.Equal((5L, 10L), (policy.ThresholdFor top, policy.ThresholdFor bottom))
    let struct (_, restarted) = VqVae2TrainStep.DeadCodeRestart(m0, images 3L, top, bottom, policy, Rng.Seed 2L)
    Assert.Equal(3, restarted)

[<Fact>]
let ``dead-code restart and a step name a null argument`` () =
    let m0 = VqVae2Model.Init(tiny, Rng.Seed 8L)
    let x = images 3L
    let u6, u10 = CodeUsage.Empty 6, CodeUsage.Empty 10
    let p, r = DeadCodePolicy.Default, Rng.Seed 1L
    Assert.Equal("model", nullArgumentOf (fun () -> VqVae2TrainStep.DeadCodeRestart(Unchecked.defaultof<VqVae2Model>, x, u6, u10, p, r)))
    Assert.Equal("top", nullArgumentOf (fun () -> VqVae2TrainStep.DeadCodeRestart(m0, x, Unchecked.defaultof<CodeUsage>, u10, p, r)))
    Assert.Equal("bottom", nullArgumentOf (fun () -> VqVae2TrainStep.DeadCodeRestart(m0, x, u6, Unchecked.defaultof<CodeUsage>, p, r)))
    Assert.Equal("policy", nullArgumentOf (fun () -> VqVae2TrainStep.DeadCodeRestart(m0, x, u6, u10, Unchecked.defaultof<DeadCodePolicy>, r)))
    let adam = Adam.Create 1e-3f
    let s = adam.Init m0
    Assert.Equal("optimizer", nullArgumentOf (fun () -> VqVae2TrainStep.Apply(Unchecked.defaultof<IOptimizer>, m0, s, x)))
    Assert.Equal("model", nullArgumentOf (fun () -> VqVae2TrainStep.Apply(adam, Unchecked.defaultof<VqVae2Model>, s, x)))
    Assert.Equal("state", nullArgumentOf (fun () -> VqVae2TrainStep.Apply(adam, m0, Unchecked.defaultof<OptimizerState<VqVae2Model>>, x)))
    Assert.Equal("batch", nullArgumentOf (fun () -> VqVae2TrainStep.Apply(adam, m0, s, Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``the combined view sums each term over the levels and takes the bottom level's usage`` () =
    let m =
        VqVae2StepMetrics(7, 0.5f, 0.25f, 0.125f, 2f, 4f, 9f, 3.5, 6.5, ImmutableArray.Create(1, 0, 3), ImmutableArray.Create(0, 2, 0, 5), 1.75,
                          OutputStd = 0.3, OutputMean = 0.4, InputStd = 0.6)
    let c = m.Combined
    Assert.Equal((7, 0.5f, 0.375f, 6f, 9f), (c.Step, c.Recon, c.Codebook, c.Commitment, c.Total))
    Assert.Equal((6.5, 2, 1.75), (c.Perplexity, c.UsedCodes, c.GradientNorm))
    Assert.Equal<int seq>([ 0; 2; 0; 5 ], c.CodeCounts)
    Assert.Equal((0.3, 0.4, 0.6), (c.OutputStd, c.OutputMean, c.InputStd))
