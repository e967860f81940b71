using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>
/// Which input positions the logits at one position depend on, read off the gradient exactly:
/// the gradient of a random weighting of logits[b, :, p] with respect to the embedded grid x is
/// computed by <see cref="Grad"/>, and position q counts as reached when any channel of x at q gets a
/// non-zero gradient. Masked taps, zero padding and the row shift contribute exact zeros, and every
/// non-linearity on the way (tanh, sigmoid) has a non-zero derivative, so a zero means no path.
/// Causality (DESIGN §4, contract): reached(p) = {q : q &lt; p in raster order} whenever the receptive
/// field covers the grid (no blind spot), and ⊆ it always.
/// </summary>
public static class Causality
{
    /// <summary>Reached positions (row-major H·W flags) of the logits of sample <paramref name="sample"/> at position <paramref name="position"/>.</summary>
    public static bool[] Reach(PixelCnnPrior prior, Tensor embedded, int sample, int position, PriorCondition? condition = null) =>
        Reach(prior, embedded, sample, position, condition, PriorFault.None);

    internal static bool[] Reach(PixelCnnPrior prior, Tensor embedded, int sample, int position, PriorCondition? condition, PriorFault fault)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(embedded);
        if (embedded.Rank != 4) throw new ArgumentException($"causality: the embedded grid must be [B,F,H,W], got {ShapeUtil.Format(embedded.Shape)}.", nameof(embedded));
        int b = embedded.Shape[0], f = embedded.Shape[1], h = embedded.Shape[2], w = embedded.Shape[3], k = prior.Config.CodebookSize;
        if ((uint)sample >= (uint)b) throw new ArgumentOutOfRangeException(nameof(sample), sample, $"causality: sample must be in [0, {b - 1}].");
        if ((uint)position >= (uint)(h * w)) throw new ArgumentOutOfRangeException(nameof(position), position, $"causality: position must be in [0, {h * w - 1}].");
        // weights in ±[0.5, 1.5] over the K logits, so no logit's dependence can cancel out by accident of the weighting
        var r = Tensor.Uniform(Rng.Seed(position), 0.5f, 1.5f, k);
        var grad = Grad.Gradient(x =>
        {
            var logits = PriorModel.LogitsOfEmbedded(prior, x, condition, fault);
            var at = logits.Narrow(0, sample, 1).Narrow(2, position / w, 1).Narrow(3, position % w, 1).Reshape(k);
            // Stryker disable once Arithmetic : at / r is equivalent, r is never 0, so each logit's weight stays non-zero
            return (at * r).Sum();
        }, embedded);
        var reached = new bool[h * w];
        if (grad is null) return reached;
        var g = grad.ToArray();
        for (int bi = 0; bi < b; bi++)
            for (int c = 0; c < f; c++)
                for (int q = 0; q < h * w; q++)
                    if (g[(bi * f + c) * h * w + q] != 0f)
                    {
                        if (bi != sample) throw new InvalidOperationException($"causality: logits of sample {sample} depend on sample {bi}.");
                        reached[q] = true;
                    }
        return reached;
    }
}
