using System.Collections.Immutable;
using VqVae.Functional.Codebooks;
using VqVae.Functional.Model;
using VqVae.Functional.Optim;
using VqVae.Functional.Quantization;
using VqVae.Functional.Training;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>What one VQ-VAE-2 training step measured (before its update was applied), per level.</summary>
/// <param name="Step">1-based step number (the optimizer's step count after it).</param>
/// <param name="Recon">Reconstruction term.</param>
/// <param name="CodebookTop">Top codebook term.</param>
/// <param name="CodebookBottom">Bottom codebook term.</param>
/// <param name="CommitmentTop">Top commitment term (unweighted).</param>
/// <param name="CommitmentBottom">Bottom commitment term (unweighted).</param>
/// <param name="Total">The loss that was differentiated.</param>
/// <param name="PerplexityTop">Top codebook perplexity of the batch.</param>
/// <param name="PerplexityBottom">Bottom codebook perplexity of the batch.</param>
/// <param name="TopCounts">Positions assigned to each top code in the batch.</param>
/// <param name="BottomCounts">Positions assigned to each bottom code in the batch.</param>
/// <param name="GradientNorm">Global L2 norm of the gradient before any clipping.</param>
public sealed record VqVae2StepMetrics(int Step, float Recon, float CodebookTop, float CodebookBottom, float CommitmentTop, float CommitmentBottom,
    float Total, double PerplexityTop, double PerplexityBottom, ImmutableArray<int> TopCounts, ImmutableArray<int> BottomCounts, double GradientNorm)
{
    /// <summary>Standard deviation of the reconstruction's pixels over the batch.</summary>
    public double OutputStd { get; init; }
    /// <summary>Mean of the reconstruction's pixels over the batch.</summary>
    public double OutputMean { get; init; }
    /// <summary>Standard deviation of the batch's pixels.</summary>
    public double InputStd { get; init; }

    /// <summary>
    /// The step as the single-level <see cref="StepMetrics"/> that progress output and the trainer's health checks read:
    /// codebook and commitment summed over the levels, perplexity and code counts those of the bottom level.
    /// </summary>
    public StepMetrics Combined => new(Step, Recon, CodebookTop + CodebookBottom, CommitmentTop + CommitmentBottom, Total,
        PerplexityBottom, BottomCounts.Count(c => c > 0), GradientNorm, BottomCounts)
    { OutputStd = OutputStd, OutputMean = OutputMean, InputStd = InputStd };
}

/// <summary>
/// One pure VQ-VAE-2 training step: loss terms and gradients, the optimizer's update and, for EMA quantizers,
/// both levels' EMA codebook updates. Nothing is mutated.
/// </summary>
/// <example><code>
/// var adam = Adam.Create(1e-3f);
/// var opt = adam.Init(model);
/// (model, opt, var metrics) = VqVae2TrainStep.Apply(adam, model, opt, x);
/// </code></example>
public static class VqVae2TrainStep
{
    /// <summary>(model, optimizer state, batch of pixels) → (model', state', metrics). Leaves the loss does not reach (EMA codebooks and statistics) are left to their EMA update.</summary>
    public static (VqVae2Model Model, OptimizerState<VqVae2Model> State, VqVae2StepMetrics Metrics) Apply(
        IOptimizer optimizer, VqVae2Model model, OptimizerState<VqVae2Model> state, Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(batch);
        using var arena = TensorArena.Begin();
        var (_, t, grads) = Grad.ValueAndGradWithAux(m => { var l = VqVae2Model.LossTerms(m, batch); return (l.Total, l); }, model);
        double norm = grads.GlobalNorm();
        var (next, state2) = optimizer.Update(grads, state, model);
        if (model.Config.Quantizer == QuantizerKind.Ema) next = EmaStep(next, t.TopQuantized, t.BottomQuantized);
        var (outMean, outStd) = TrainStep.MeanStd(t.XHat);
        var metrics = new VqVae2StepMetrics(state2.Step, t.Recon.ToScalar(), t.CodebookTop.ToScalar(), t.CodebookBottom.ToScalar(),
            t.CommitmentTop.ToScalar(), t.CommitmentBottom.ToScalar(), t.Total.ToScalar(), t.TopQuantized.Perplexity, t.BottomQuantized.Perplexity,
            t.TopQuantized.Counts, t.BottomQuantized.Counts, norm)
        { OutputMean = outMean, OutputStd = outStd, InputStd = TrainStep.MeanStd(batch).Std };
        return (Tree.Map(next, TensorArena.Keep), Tree.Map(state2, TensorArena.Keep), metrics);
    }

    /// <summary>The model after both levels' EMA codebook updates for a batch the quantizers assigned as given (decay and ε from the config).</summary>
    public static VqVae2Model EmaStep(VqVae2Model model, Quantized top, Quantized bottom)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(top); ArgumentNullException.ThrowIfNull(bottom);
        return model with { Top = EmaLevel(model.Config, model.Top, top), Bottom = EmaLevel(model.Config, model.Bottom, bottom) };
    }

    /// <summary>
    /// Dead-code restart at both levels: codes with fewer rows in a level's usage than <paramref name="policy"/> allows
    /// (<see cref="DeadCodePolicy.ThresholdFor"/>, per level) are
    /// moved onto that level's encoder outputs for the batch x (<see cref="DeadCodes.Restart(Tensor, EmaState?, Tensor, CodeUsage, long, Rng)"/>).
    /// </summary>
    public static (VqVae2Model Model, int Restarted) DeadCodeRestart(VqVae2Model model, Tensor x, CodeUsage top, CodeUsage bottom, DeadCodePolicy policy, Rng rng)
    {
        // Stryker disable once Statement : equivalent, LossTerms (next, before anything else) refuses a null model with the same exception and name
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(top); ArgumentNullException.ThrowIfNull(bottom);
        ArgumentNullException.ThrowIfNull(policy);
        VqVae2LossTerms t;
        using (NoGradScope.Begin()) t = VqVae2Model.LossTerms(model, x);
        var (cbT, emaT, rT) = DeadCodes.Restart(model.Top.Codebook.Embedding, model.Top.Ema, t.TopQuantized.Rows(), top, policy.ThresholdFor(top), rng.Fold(0));
        var (cbB, emaB, rB) = DeadCodes.Restart(model.Bottom.Codebook.Embedding, model.Bottom.Ema, t.BottomQuantized.Rows(), bottom, policy.ThresholdFor(bottom), rng.Fold(1));
        return (model with { Top = new QuantizerLevel(new Codebook(cbT), emaT), Bottom = new QuantizerLevel(new Codebook(cbB), emaB) }, rT.Length + rB.Length);
    }

    private static QuantizerLevel EmaLevel(VqVae2Config cfg, QuantizerLevel level, Quantized q)
    {
        var ema = level.Ema ?? throw new ArgumentException("emaStep: the VQ-VAE-2 has no EMA state; build it with Quantizer = Ema.", nameof(level));
        var (ema2, cb2) = Ema.Update(ema, level.Codebook.Embedding, q.Rows(), q.Indices.ToArray(), cfg.EmaDecay, cfg.EmaEpsilon);
        return new QuantizerLevel(new Codebook(cb2), ema2);
    }
}
