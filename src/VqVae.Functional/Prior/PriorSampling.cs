using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>How to draw codes: softmax(logits / temperature), restricted to the top-k logits when TopK &gt; 0, from a seeded stream.</summary>
/// <param name="Temperature">Divides the logits (below 1: sharper; must be &gt; 0).</param>
/// <param name="TopK">Keep only the k most likely codes per position (0: all).</param>
/// <param name="Seed">The random stream; the same seed, prior and count give the same codes.</param>
public sealed record SamplingOptions(float Temperature = 1f, int TopK = 0, long Seed = 0)
{
    /// <summary>Throws naming the field that is out of range.</summary>
    public SamplingOptions Validate()
    {
        if (!(Temperature > 0f) || !float.IsFinite(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "sampling: temperature must be a positive number.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "sampling: top-k must be ≥ 0 (0: no restriction).");
        return this;
    }
}

/// <summary>Ancestral sampling from a prior in raster order.</summary>
public static class PriorSampling
{
    /// <summary>
    /// <paramref name="count"/> code grids drawn position by position in raster order: at p the
    /// prior is run on the grid so far (later positions are still 0 and, by causality, unseen), and
    /// code p is drawn from its logits. H·W forward passes of the whole batch; no tape.
    /// </summary>
    public static CodeIndices Sample(PixelCnnPrior prior, int count, SamplingOptions? options = null, PriorCondition? condition = null)
    {
        ArgumentNullException.ThrowIfNull(prior);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "sampling: count must be ≥ 1.");
        var o = (options ?? new SamplingOptions()).Validate();
        var cfg = prior.Config;
        int h = cfg.Height, w = cfg.Width, k = cfg.CodebookSize, per = h * w;
        var codes = new int[count * per];
        var rng = Rng.Seed(o.Seed);
        using var _ = NoGradScope.Begin();
        var probs = new double[k];
        for (int p = 0; p < per; p++)
        {
            var logits = PriorModel.Logits(prior, CodeIndices.Of(codes, count, h, w), condition);
            // [B,K,H,W] → the K logits of position p for each sample
            var at = logits.Narrow(2, p / w, 1).Narrow(3, p % w, 1).Reshape(count, k).ToArray();
            int bad = Array.FindIndex(at, v => !float.IsFinite(v));
            if (bad >= 0)
                throw new InvalidOperationException($"sampling: the prior's logit for code {bad % k} of sample {bad / k} at position {p} is {at[bad]}; a prior with non-finite weights (diverged training?) cannot be sampled.");
            var stream = rng.Fold(p);
            for (int b = 0; b < count; b++)
                codes[b * per + p] = Draw(at.AsSpan(b * k, k), o, probs, stream.UniformAt(b));
        }
        return CodeIndices.Of(codes, count, h, w);
    }

    /// <summary>One draw from softmax(logits / T) over the top-k logits (ties at the k-th value kept), with u uniform in [0,1):
    /// the inverse of the distribution function at u, so u spread evenly over [0,1) gives each code its probability's share.</summary>
    internal static int Draw(ReadOnlySpan<float> logits, SamplingOptions o, double[] probs, float u)
    {
        int k = logits.Length;
        double threshold = double.NegativeInfinity;
        if (o.TopK > 0)
        {
            var sorted = logits.ToArray();
            Array.Sort(sorted);
            threshold = sorted[k - Math.Min(o.TopK, k)]; // TopK ≥ K: the smallest logit, every code kept
        }
        // The largest logit is always among the kept ones; subtracting it keeps every exponent ≤ 0 (no overflow).
        double max = double.NegativeInfinity;
        for (int i = 0; i < k; i++) max = Math.Max(max, logits[i]);
        double total = 0;
        for (int i = 0; i < k; i++)
        {
            probs[i] = logits[i] >= threshold ? Math.Exp((logits[i] - max) / o.Temperature) : 0.0;
            total += probs[i];
        }
        // Walk the running sum to the first code that takes it past u·total. That code has probability > 0
        // (the sum grew there), and the walk ends inside the codes: u < 1 and the sum reaches total in the same order.
        double target = u * total, acc = 0;
        int pick = -1;
        while (acc <= target) acc += probs[++pick];
        return pick;
    }
}
