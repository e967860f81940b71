using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Distributions over a class dimension: log-softmax, softmax and cross-entropy (a prior's
// per-position categorical over codes). Composed of recorded ops, so gradients come from AD.
public sealed partial class Tensor
{
    /// <summary>
    /// log softmax along <paramref name="dim"/>: x − max − log Σ exp(x − max). The max is a constant
    /// (the function does not change when a constant is subtracted), so no exp overflows and the
    /// gradient is the exact softmax Jacobian.
    /// </summary>
    /// <example><code>var logp = logits.LogSoftmax(1);   // [B,K,H,W]: a distribution over K per position</code></example>
    public Tensor LogSoftmax(int dim)
    {
        if (Rank == 0) throw new InvalidOperationException("logSoftmax: a scalar has no class dimension.");
        int d = ShapeUtil.Dim("logSoftmax", dim, Rank, nameof(dim));
        if (Raw.Shape[d] == 0) throw new ArgumentException($"logSoftmax: dimension {d} of shape {ShapeUtil.Format(Raw.Shape)} is empty.", nameof(dim));
        using var _ = OpProfiler.Time("logSoftmax");
        if (Raw.HasNonFinite()) throw new ArgumentException("logSoftmax: the input holds NaN or infinity.");
        var max = new Tensor(Raw.Max(d, true));
        var shifted = this - max;
        return shifted - Exp(shifted).Sum(d, true).Log();
    }

    /// <summary>softmax along <paramref name="dim"/> (exp of <see cref="LogSoftmax"/>).</summary>
    public Tensor Softmax(int dim) => Exp(LogSoftmax(dim));

    /// <summary>
    /// Cross-entropy of each position, in nats: −log softmax(logits)[target] with the classes along
    /// <paramref name="classDim"/> (default 1, PyTorch's layout [B,K,…]); the result has the logits'
    /// shape without the class dimension, and <paramref name="targets"/> lists one class per element of
    /// it in row-major order (F.cross_entropy(..., reduction='none')).
    /// </summary>
    public static Tensor CrossEntropyEach(Tensor logits, int[] targets, int classDim = 1)
    {
        ArgumentNullException.ThrowIfNull(logits); ArgumentNullException.ThrowIfNull(targets);
        if (logits.Rank == 0) throw new ArgumentException("crossEntropy: logits must have a class dimension, got a scalar.", nameof(logits));
        int d = ShapeUtil.Dim("crossEntropy", classDim, logits.Rank, nameof(classDim));
        var s = logits.Raw.Shape;
        int k = s[d];
        var outShape = s.Where((_, i) => i != d).ToArray();
        int n = ShapeUtil.Size(outShape);
        if (targets.Length != n)
            throw new ArgumentException($"crossEntropy: expected {n} targets (one per element of {ShapeUtil.Format(outShape)}), got {targets.Length}.", nameof(targets));
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)k)
                throw new ArgumentOutOfRangeException(nameof(targets), $"crossEntropy: targets[{i}] = {targets[i]} is outside the classes [0, {k - 1}].");
        // classes last, one row per position; the target's element of each row gathered (scatter-add backward)
        var perm = Enumerable.Range(0, logits.Rank).Where(i => i != d).Append(d).ToArray();
        var rows = logits.LogSoftmax(d).Permute(perm).Reshape(n * k, 1);
        var flat = new int[n];
        for (int i = 0; i < n; i++) flat[i] = i * k + targets[i];
        return -rows.GatherRows(flat).Reshape(outShape);
    }

    /// <summary>Mean cross-entropy in nats over all positions (F.cross_entropy with the default mean reduction).</summary>
    /// <example><code>var nats = Tensor.CrossEntropy(logits, codes);   // logits [B,K,H,W], codes B·H·W</code></example>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, int classDim = 1)
    {
        var each = CrossEntropyEach(logits, targets, classDim);
        if (each.Length == 0) throw new ArgumentException("crossEntropy: there are no positions to average over.", nameof(targets));
        return each.Mean();
    }
}
