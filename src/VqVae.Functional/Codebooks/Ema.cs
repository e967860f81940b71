using VqVae.Tensors;

namespace VqVae.Functional.Codebooks;

/// <summary>
/// The EMA codebook update (van den Oord et al. 2017, appendix; Sonnet's <c>VectorQuantizerEMA</c>)
/// over the model's <see cref="EmaState"/>: per code k a decayed count N_k (<c>vq.cluster_size</c>, [K])
/// and a decayed sum m_k of the rows assigned to it (<c>vq.ema_w</c>, [K,D]).
/// </summary>
public static class Ema
{
    /// <summary>
    /// One EMA step, pure. With n_k = number of rows assigned to code k and s_k their sum:
    /// <c>N ← γN + (1−γ)n</c>, <c>m ← γm + (1−γ)s</c>, then Laplace smoothing
    /// <c>ñ = (N + ε)/(ΣN + Kε) · ΣN</c> and the new codebook <c>e_k = m_k / ñ_k</c>.
    /// The stored N is the unsmoothed one. <paramref name="rows"/> are detached (no gradient flows).
    /// </summary>
    /// <param name="state">The statistics before the step.</param>
    /// <param name="codebook">The current codebook [K,D] (for the shapes; its values are replaced).</param>
    /// <param name="rows">Encoder outputs as channel-last rows z_e [N,D].</param>
    /// <param name="indices">The code of each row (length N).</param>
    /// <param name="decay">γ in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    /// <example><code>
    /// var (ema2, codebook2) = Ema.Update(model.Ema!, model.Codebook.Embedding, q.Rows(), q.Indices.ToArray(), 0.99f, 1e-5f);
    /// </code></example>
    public static (EmaState State, Tensor Codebook) Update(EmaState state, Tensor codebook, Tensor rows, int[] indices, float decay, float epsilon)
    {
        ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(codebook);
        ArgumentNullException.ThrowIfNull(rows); ArgumentNullException.ThrowIfNull(indices);
        if (!(decay >= 0f && decay < 1f)) throw new ArgumentOutOfRangeException(nameof(decay), decay, $"emaUpdate: decay must be in [0, 1), got {decay}.");
        if (!(epsilon > 0f) || float.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"emaUpdate: epsilon must be finite and > 0, got {epsilon}.");
        if (codebook.Rank != 2) throw new ArgumentException($"emaUpdate: codebook must be [K,D], got [{string.Join(",", codebook.Shape)}].", nameof(codebook));
        int k = codebook.Shape[0], d = codebook.Shape[1];
        if (!state.ClusterSize.Shape.SequenceEqual([k]) || !state.EmaW.Shape.SequenceEqual([k, d]))
            throw new ArgumentException($"emaUpdate: statistics must be cluster size [{k}] and sums [{k},{d}] for a [{k},{d}] codebook, got [{string.Join(",", state.ClusterSize.Shape)}] and [{string.Join(",", state.EmaW.Shape)}].", nameof(state));
        if (rows.Rank != 2 || rows.Shape[1] != d) throw new ArgumentException($"emaUpdate: rows must be [N,{d}], got [{string.Join(",", rows.Shape)}].", nameof(rows));
        if (indices.Length != rows.Shape[0]) throw new ArgumentException($"emaUpdate: expected {rows.Shape[0]} indices (one per row), got {indices.Length}.", nameof(indices));

        using var _ = NoGradScope.Begin();
        var z = rows.NoDiff();
        var counts = Tensor.FromArray(z.Backend, CodeUsage.Count(indices, k).Select(c => (float)c).ToArray(), k);
        var sums = z.ScatterAddRows(indices, k);
        var n = state.ClusterSize * decay + counts * (1f - decay);
        var m = state.EmaW * decay + sums * (1f - decay);
        var total = n.Sum();
        var smoothed = (n + epsilon) / (total + k * epsilon) * total;
        var e = m / smoothed.Reshape(k, 1);
        return (new EmaState(n, m), e);
    }

    /// <summary>
    /// Statistics to start from that keep unused codes in place: a count of 1 per code and sums equal
    /// to the codebook, so m/N equals the codebook. (With zero counts, the first step divides an unused
    /// code's decayed sum by a smoothed count of about ε and throws the code far away.)
    /// </summary>
    public static EmaState UnitCounts(Tensor codebook)
    {
        ArgumentNullException.ThrowIfNull(codebook);
        if (codebook.Rank != 2) throw new ArgumentException($"ema: codebook must be [K,D], got [{string.Join(",", codebook.Shape)}].", nameof(codebook));
        return new(Tensor.Full(codebook.Backend, 1f, codebook.Shape[0]), codebook.NoDiff());
    }
}
