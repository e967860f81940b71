using VqVae.Functional.Optim;
using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>Training a prior: one pure step with any of the library's optimizers.</summary>
/// <example><code>
/// var adam = Adam.Create(1e-3f);
/// var state = adam.Init(prior);
/// (prior, state, var nats) = PriorTraining.Step(adam, prior, state, codes);
/// </code></example>
public static class PriorTraining
{
    /// <summary>One step on a batch of code grids: the loss before the update (nats per code) and the updated prior and state.</summary>
    public static (PixelCnnPrior Prior, OptimizerState<PixelCnnPrior> State, double Nats) Step(IOptimizer optimizer, PixelCnnPrior prior,
        OptimizerState<PixelCnnPrior> state, CodeIndices codes, PriorCondition? condition = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(state);
        // Stryker disable once Statement : equivalent, the loss (computed next, before the state is used) refuses null codes with the same ArgumentNullException, named "codes"
        ArgumentNullException.ThrowIfNull(codes);
        var (loss, grads) = Grad.ValueAndGrad(p => PriorModel.Loss(p, codes, condition).Nats, prior);
        double nats = loss.ToScalar();
        if (!double.IsFinite(nats)) throw new InvalidOperationException($"prior: the loss is {nats}; lower the learning rate.");
        var (p2, s2) = optimizer.Update(grads, state, prior);
        return (p2, s2, nats);
    }

    /// <summary>Mean nats per code over a set of grids, in batches (no tape).</summary>
    public static double MeanNats(PixelCnnPrior prior, CodeIndices codes, PriorCondition? condition = null, int batch = 64)
    {
        // Stryker disable once Statement : equivalent, NatsPerCode (called on the first slice, there is always one) refuses a null prior with the same ArgumentNullException, named "prior"
        ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(codes);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "meanNats: batch must be ≥ 1.");
        condition?.CheckOnePerGrid(codes.Batch, nameof(condition));
        double sum = 0; long n = 0;
        for (int s = 0; s < codes.Batch; s += batch)
        {
            int c = Math.Min(batch, codes.Batch - s);
            var part = Slice(codes, s, c);
            var each = PriorModel.NatsPerCode(prior, part, condition?.Slice(s, c));
            foreach (var v in each.ToArray()) sum += v;
            n += each.Length;
        }
        return sum / n;
    }

    /// <summary>Grids [start, start+count) of a batch of code grids.</summary>
    public static CodeIndices Slice(CodeIndices codes, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(codes);
        int per = codes.Height * codes.Width;
        return new(codes.Values.Slice(start * per, count * per), count, codes.Height, codes.Width);
    }
}
