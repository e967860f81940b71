using VqVae.Functional.Codebooks;
using VqVae.Functional.Optim;
using VqVae.Tensors;
using VqVae.Tensors.Diagnostics;

namespace VqVae.Functional.Training;

/// <summary>
/// One pure training step of a VQ-VAE: loss terms and gradients by <see cref="Grad.ValueAndGradWithAux{T, TAux}"/>,
/// the optimizer's update, the BatchNorm running statistics of the training pass, and for an EMA
/// quantizer the EMA codebook update. Nothing is mutated; the inputs stay valid.
/// </summary>
/// <example><code>
/// var adam = Adam.Create(1e-3f);
/// var model = VqVaeModel.Init(cfg, Rng.Seed(0));
/// var opt = adam.Init(model);
/// foreach (var x in batches)
/// {
///     StepMetrics m;
///     (model, opt, m) = TrainStep.Apply(adam, model, opt, x);
/// }
/// </code></example>
public static class TrainStep
{
    /// <summary>
    /// (model, optimizer state, batch of pixels) → (model', state', metrics). Loss settings come from
    /// the model's own config (one source: change β by changing <c>model.Config</c>). Leaves the loss does not reach
    /// (buffers; an EMA codebook) get no gradient, so the optimizer leaves them alone; buffers then
    /// take the training pass's values and the EMA codebook its EMA update. The state keeps its type
    /// (an <see cref="AdamState{T}"/> in, an <see cref="AdamState{T}"/> out).
    /// </summary>
    public static (VqVaeModel Model, TState State, StepMetrics Metrics) Apply<TState>(
        IOptimizer optimizer, VqVaeModel model, TState state, Tensor batch)
        where TState : OptimizerState<VqVaeModel>
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(batch);
        // Forward and backward storage comes from an arena recycled at the end of the step; what the
        // step returns is copied out of it (TensorArena.Keep; Adam's results are already outside).
        using var arena = TensorArena.Begin();
        var (_, terms, grads) = Grad.ValueAndGradWithAux(m =>
        {
            var t = VqVaeModel.LossTerms(m, batch);
            return (t.Total, t);
        }, model);
        double norm = grads.GlobalNorm();
        OptimizerState<VqVaeModel> updatedState;
        VqVaeModel updated;
        using (OpProfiler.TimePhase("optimizer update")) (updated, updatedState) = optimizer.Update(grads, state, model);
        var state2 = updatedState as TState ?? throw new InvalidOperationException(
            $"trainStep: the optimizer {optimizer.GetType().Name} was given a {typeof(TState).Name} but returned a {updatedState.GetType().Name}.");
        var next = VqVaeModel.WithBuffersFrom(updated, terms.Model);
        if (model.Config.Quantizer == QuantizerKind.Ema) next = EmaStep(next, terms.Quantized);

        var q = terms.Quantized;
        var (recon, codebook, commitment, total) = terms.Values;
        var (outMean, outStd) = MeanStd(terms.XHat);
        var metrics = new StepMetrics(state2.Step, recon, codebook, commitment, total, terms.Perplexity, q.CodesUsed, norm, q.Counts)
        {
            OutputMean = outMean, OutputStd = outStd, InputStd = MeanStd(batch).Std,
        };
        next = Tree.Map(next, TensorArena.Keep);
        state2 = (TState)Tree.Map<OptimizerState<VqVaeModel>>(state2, TensorArena.Keep); // Unflatten keeps the state's own type
        return (next, state2, metrics);
    }

    // Mean and standard deviation of every element, in double (the step metrics of both models).
    internal static (double Mean, double Std) MeanStd(Tensor t)
    {
        var a = t.ToArray();
        double s = 0, s2 = 0;
        foreach (var v in a) { s += v; s2 += (double)v * v; }
        double mean = s / a.Length;
        return (mean, Math.Sqrt(Math.Max(0, s2 / a.Length - mean * mean)));
    }

    /// <summary>The model after the EMA codebook update (decay and ε from the model's config) for a batch the quantizer assigned as <paramref name="quantized"/>.</summary>
    public static VqVaeModel EmaStep(VqVaeModel model, Quantized quantized)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(quantized);
        var cfg = model.Config;
        var ema = model.Ema ?? throw new ArgumentException("emaStep: the model has no EMA state (vq.cluster_size, vq.ema_w); build it with Quantizer = Ema.", nameof(model));
        var (ema2, codebook2) = Ema.Update(ema, model.Codebook.Embedding, quantized.Rows(), quantized.Indices.ToArray(), cfg.EmaDecay, cfg.EmaEpsilon);
        return model with { Ema = ema2, Codebook = new Codebook(codebook2) };
    }
}
