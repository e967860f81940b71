using System.Collections.Immutable;
using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>Per-code cross-entropy of a prior on a batch of code grids.</summary>
/// <param name="Nats">Mean −log p(code | codes before it) over all positions, in nats (a scalar tensor, differentiable).</param>
public sealed record PriorLoss(Tensor Nats)
{
    /// <summary>The same mean in bits per code (nats / ln 2).</summary>
    public double BitsPerCode => Nats.ToScalar() / Math.Log(2);
}

/// <summary>The Gated PixelCNN prior's pure functions: init, logits, loss.</summary>
/// <example><code>
/// var prior = PriorModel.Init(PriorConfig.For(512, 7, 7), Rng.Seed(0));
/// var loss = PriorModel.Loss(prior, codes);          // codes : CodeIndices [B,7,7]
/// Console.WriteLine(loss.BitsPerCode);
/// </code></example>
public static class PriorModel
{
    /// <summary>A fresh prior: codes embedded N(0,1) like nn.Embedding, convolutions U(±1/√fan_in) like PyTorch.</summary>
    public static PixelCnnPrior Init(PriorConfig config, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        int f = config.Channels, k = config.CodebookSize;
        var layers = Enumerable.Range(0, config.Layers)
            .Select(i => GatedLayer.Init(rng.Fold(100 + i), f, config.Kernel, config.Classes, config.HasGridCondition))
            .ToImmutableArray();
        static Tensor U(Rng r, int fanIn, params int[] shape) { float b = 1f / MathF.Sqrt(fanIn); return Tensor.Uniform(r, -b, b, shape); }
        return new(config, Tensor.Normal(rng.Fold(1), 0f, 1f, k, f), layers,
            U(rng.Fold(2), f, f, f, 1, 1), U(rng.Fold(3), f, f),
            U(rng.Fold(4), f, k, f, 1, 1), U(rng.Fold(5), f, k),
            config.HasGridCondition ? Tensor.Normal(rng.Fold(6), 0f, 1f, config.ConditionCodes, f) : null);
    }

    /// <summary>Logits [B,K,H,W]: at each position, the unnormalised log-probabilities of its code given the codes before it in raster order (and the condition).</summary>
    public static Tensor Logits(PixelCnnPrior prior, CodeIndices codes, PriorCondition? condition = null)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(codes);
        CheckCodes(prior.Config, codes, nameof(codes));
        var x = prior.Embedding.EmbedGrid([.. codes.Values], codes.Batch, codes.Height, codes.Width);
        return LogitsOfEmbedded(prior, x, condition);
    }

    /// <summary>
    /// Logits [B,K,H,W] from an already embedded grid x [B,F,H,W] (what <see cref="Logits"/> feeds the
    /// stacks). Causality is a statement about this function: logits at p depend on x only at positions before p.
    /// </summary>
    public static Tensor LogitsOfEmbedded(PixelCnnPrior prior, Tensor x, PriorCondition? condition = null) =>
        LogitsOfEmbedded(prior, x, condition, PriorFault.None);

    internal static Tensor LogitsOfEmbedded(PixelCnnPrior prior, Tensor x, PriorCondition? condition, PriorFault fault)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(x);
        var cfg = prior.Config;
        if (x.Rank != 4 || x.Shape[1] != cfg.Channels)
            throw new ArgumentException($"prior: the embedded grid must be [B,{cfg.Channels},H,W], got {ShapeUtil.Format(x.Shape)}.", nameof(x));
        int b = x.Shape[0];
        var (labels, map) = ConditionInputs(prior, condition, b, x.Shape[2], x.Shape[3]);
        Tensor v = x, h = x;
        for (int i = 0; i < prior.Layers.Length; i++)
            (v, h) = prior.Layers[i].Apply(v, h, i == 0, labels, map, fault);
        // Stryker disable once Arithmetic,Boolean : equivalent for a teeth-only fault, subtracting the batch mean mixes the samples as much, and without keepDim the mean [F,H,W] broadcasts to the same sum
        if (fault == PriorFault.MixesSamples) h = h + h.Mean(0, keepDim: true);
        // The head is position-wise (1×1), so it cannot break causality; tanh rather than ReLU keeps
        // every dependence alive (a ReLU that is off at p would hide p's inputs from the reach proof).
        var hidden = Tensor.Conv2d(h, prior.Out0Weight, prior.Out0Bias).Tanh();
        return Tensor.Conv2d(hidden, prior.Out2Weight, prior.Out2Bias);
    }

    /// <summary>Mean cross-entropy per code (nats; <see cref="PriorLoss.BitsPerCode"/> in bits).</summary>
    public static PriorLoss Loss(PixelCnnPrior prior, CodeIndices codes, PriorCondition? condition = null)
    {
        var logits = Logits(prior, codes, condition);
        return new(Tensor.CrossEntropy(logits, [.. codes.Values]));
    }

    /// <summary>−log p of each code given the codes before it, in nats, [B,H,W] (untracked).</summary>
    public static Tensor NatsPerCode(PixelCnnPrior prior, CodeIndices codes, PriorCondition? condition = null)
    {
        using var _ = NoGradScope.Begin();
        return Tensor.CrossEntropyEach(Logits(prior, codes, condition), [.. codes.Values]);
    }

    private static (int[]? Labels, Tensor? Map) ConditionInputs(PixelCnnPrior prior, PriorCondition? condition, int batch, int height, int width)
    {
        var cfg = prior.Config;
        int[]? labels = null;
        Tensor? map = null;
        if (cfg.HasClassCondition)
        {
            labels = condition?.Labels ?? throw new ArgumentException($"prior: this prior is class-conditional ({cfg.Classes} classes); pass labels in the condition.", nameof(condition));
            if (labels.Length != batch) throw new ArgumentException($"prior: expected {batch} labels (one per sample), got {labels.Length}.", nameof(condition));
            for (int i = 0; i < labels.Length; i++)
                if ((uint)labels[i] >= (uint)cfg.Classes) throw new ArgumentOutOfRangeException(nameof(condition), $"prior: labels[{i}] = {labels[i]} is outside [0, {cfg.Classes - 1}].");
        }
        if (cfg.HasGridCondition)
        {
            var c = condition?.Codes ?? throw new ArgumentException($"prior: this prior is conditioned on a {cfg.ConditionHeight}×{cfg.ConditionWidth} code grid; pass Codes in the condition.", nameof(condition));
            if (c.Batch != batch || c.Height != cfg.ConditionHeight || c.Width != cfg.ConditionWidth)
                throw new ArgumentException($"prior: the condition grid must be [{batch},{cfg.ConditionHeight},{cfg.ConditionWidth}], got {ShapeUtil.Format(c.Shape)}.", nameof(condition));
            foreach (var v in c.Values)
                if (v >= cfg.ConditionCodes) throw new ArgumentOutOfRangeException(nameof(condition), $"prior: a condition code is {v}, outside [0, {cfg.ConditionCodes - 1}].");
            map = UpsampleNearest(prior.CondEmbedding!.EmbedGrid([.. c.Values], batch, c.Height, c.Width), height / c.Height, width / c.Width);
        }
        return (labels, map);
    }

    // [B,C,h,w] → [B,C,h·fy,w·fx], each value repeated over an fy×fx block (differentiable: expand sums back).
    private static Tensor UpsampleNearest(Tensor x, int fy, int fx)
    {
        if (fy == 1 && fx == 1) return x;
        var s = x.Shape;
        return x.Reshape(s[0], s[1], s[2], 1, s[3], 1).Expand(s[0], s[1], s[2], fy, s[3], fx).Reshape(s[0], s[1], s[2] * fy, s[3] * fx);
    }

    internal static void CheckCodes(PriorConfig cfg, CodeIndices codes, string argument)
    {
        if (codes.Height != cfg.Height || codes.Width != cfg.Width)
            throw new ArgumentException($"prior: the code grid is {codes.Height}×{codes.Width}, the prior was made for {cfg.Height}×{cfg.Width}.", argument);
        foreach (var v in codes.Values)
            if (v >= cfg.CodebookSize) throw new ArgumentOutOfRangeException(argument, $"prior: a code is {v}, outside the prior's [0, {cfg.CodebookSize - 1}].");
    }
}
