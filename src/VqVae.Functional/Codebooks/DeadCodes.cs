using VqVae.Tensors;

namespace VqVae.Functional.Codebooks;

/// <summary>
/// Dead-code restart on plain tensors: codes unused (or chosen by fewer than a threshold of rows) over
/// an epoch are moved onto randomly drawn encoder outputs, and their EMA statistics (if any) are reset
/// to match. Other codes are untouched. The trainer's rule for the threshold is <c>DeadCodePolicy.ThresholdFor</c>.
/// </summary>
public static class DeadCodes
{
    /// <summary>
    /// The codebook (and EMA statistics) with every code that <paramref name="usage"/> never saw
    /// replaced by a random row of <paramref name="rows"/>. Rows are drawn without replacement while
    /// there are enough, then with replacement. A restarted code's EMA count becomes 1 and its sum the
    /// new code, so the next EMA step starts from the new value with the weight of one row.
    /// </summary>
    /// <example><code>
    /// var (codebook2, ema2, restarted) = DeadCodes.Restart(codebook, ema, zeRows, usage, rng);
    /// </code></example>
    public static (Tensor Codebook, EmaState? Ema, int[] Restarted) Restart(Tensor codebook, EmaState? ema, Tensor rows, CodeUsage usage, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return Restart(codebook, ema, rows, usage, usage.DeadCodes, rng);
    }

    /// <summary>
    /// Like the other overload, restarting every code with fewer than <paramref name="threshold"/> rows in
    /// <paramref name="usage"/> (threshold 1: the codes never chosen).
    /// </summary>
    public static (Tensor Codebook, EmaState? Ema, int[] Restarted) Restart(Tensor codebook, EmaState? ema, Tensor rows, CodeUsage usage, long threshold, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (threshold < 1) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "deadCodeRestart: threshold must be ≥ 1 row.");
        return Restart(codebook, ema, rows, usage, usage.Below(threshold), rng);
    }

    private static (Tensor Codebook, EmaState? Ema, int[] Restarted) Restart(Tensor codebook, EmaState? ema, Tensor rows, CodeUsage usage, int[] dead, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(codebook); ArgumentNullException.ThrowIfNull(rows);
        if (codebook.Rank != 2) throw new ArgumentException($"deadCodeRestart: codebook must be [K,D], got [{string.Join(",", codebook.Shape)}].", nameof(codebook));
        int k = codebook.Shape[0], d = codebook.Shape[1];
        if (usage.Codes != k) throw new ArgumentException($"deadCodeRestart: usage counts {usage.Codes} codes, the codebook has {k}.", nameof(usage));
        if (rows.Rank != 2 || rows.Shape[1] != d || rows.Shape[0] == 0) throw new ArgumentException($"deadCodeRestart: rows must be [N,{d}] with N ≥ 1, got [{string.Join(",", rows.Shape)}].", nameof(rows));
        if (ema is not null && ema.ClusterSize.Shape[0] != k) throw new ArgumentException($"deadCodeRestart: EMA statistics hold {ema.ClusterSize.Shape[0]} codes, the codebook has {k}.", nameof(ema));

        if (dead.Length == 0) return (codebook, ema, dead);
        int n = rows.Shape[0];
        var perm = rng.Permutation(n);
        var x = rows.ToArray();
        var e = codebook.ToArray();
        for (int j = 0; j < dead.Length; j++)
        {
            int r = j < n ? perm[j] : rng.Fold(1).IntAt(j, n);
            Array.Copy(x, r * d, e, dead[j] * d, d);
        }
        var newCodebook = Tensor.FromArray(codebook.Backend, e, k, d);
        if (ema is null) return (newCodebook, null, dead);

        var size = ema.ClusterSize.ToArray();
        var sum = ema.EmaW.ToArray();
        foreach (var c in dead)
        {
            size[c] = 1f;
            Array.Copy(e, c * d, sum, c * d, d);
        }
        return (newCodebook, new EmaState(Tensor.FromArray(codebook.Backend, size, k), Tensor.FromArray(codebook.Backend, sum, k, d)), dead);
    }
}
