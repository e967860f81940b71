using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Quantization;

/// <summary>
/// Vector quantization (DESIGN §4): z_e [B,D,H,W] → channel-last rows [B·H·W, D] → nearest code
/// (‖z‖²+‖e‖²−2z·e, ties → lowest index) → z_q = e[index] back in NCHW, and the straight-through
/// decoder input z_e + NoDiff(z_q − z_e).
/// </summary>
/// <example><code>
/// var q = Quantizer.Quantize(model.Codebook.Embedding, ze);
/// var xHat = VqVaeModel.Decode(model, q.DecoderInput);
/// </code></example>
public static class Quantizer
{
    /// <summary>Quantizes <paramref name="ze"/> [B,D,H,W] with <paramref name="codebook"/> [K,D].</summary>
    public static Quantized Quantize(Tensor codebook, Tensor ze)
    {
        var (b, d, h, w) = CheckInputs(codebook, ze);
        var rows = ze.NoDiff().Permute(0, 2, 3, 1).Reshape(-1, d);
        if (rows.HasNonFinite())
            throw new NotFiniteNumberException("quantize: the encoder output z_e holds NaN or infinity, so no nearest code exists (diverged weights or non-finite inputs).");
        var idx = rows.NearestRows(codebook.NoDiff());
        return FromIndices(codebook, ze, CodeIndices.Of(idx, b, h, w));
    }

    /// <summary>The quantizer's result for indices chosen elsewhere (a test's brute force, a deliberately wrong rule).</summary>
    public static Quantized FromIndices(Tensor codebook, Tensor ze, CodeIndices indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var (b, _, h, w) = CheckInputs(codebook, ze);
        if (indices.Batch != b || indices.Height != h || indices.Width != w)
            throw new ArgumentException($"quantize: indices must be {ShapeUtil.Format([b, h, w])} for z_e {ShapeUtil.Format(ze.Shape)}, got {ShapeUtil.Format(indices.Shape)}.", nameof(indices));
        var zq = Lookup(codebook, indices);
        var decoderInput = ze + (zq - ze).NoDiff();
        var counts = indices.Counts(codebook.Shape[0]);
        return new Quantized(decoderInput, ze, zq, indices, Perplexity(counts), [.. counts]);
    }

    /// <summary>z_q [B,D,H,W] = codebook rows at <paramref name="indices"/> [B,H,W], back in NCHW; differentiable with respect to the codebook.</summary>
    public static Tensor Lookup(Tensor codebook, CodeIndices indices)
    {
        ArgumentNullException.ThrowIfNull(codebook); ArgumentNullException.ThrowIfNull(indices);
        var cs = codebook.Shape;
        if (cs.Length != 2 || cs[0] < 1 || cs[1] < 1)
            throw new ArgumentException($"quantize: codebook must be [K, D] with K, D ≥ 1, got {ShapeUtil.Format(cs)}.", nameof(codebook));
        foreach (var v in indices.Values)
            if (v >= cs[0]) throw new ArgumentOutOfRangeException(nameof(indices), v, $"codes to latents: index {v} is outside [0, {cs[0] - 1}] for a codebook of {cs[0]} codes.");
        return codebook.GatherRows(indices.ToArray()).Reshape(indices.Batch, indices.Height, indices.Width, cs[1]).Permute(0, 3, 1, 2);
    }

    /// <summary>exp(−Σ p_k ln p_k) with p_k = counts[k] / Σ counts: <see cref="Codebooks.CodeUsage.PerplexityOf(ReadOnlySpan{long})"/> (1 when every count is 0).</summary>
    public static double Perplexity(IReadOnlyList<int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return Codebooks.CodeUsage.PerplexityOf(counts.Select(c => (long)c).ToArray());
    }

    private static (int B, int D, int H, int W) CheckInputs(Tensor codebook, Tensor ze)
    {
        ArgumentNullException.ThrowIfNull(codebook); ArgumentNullException.ThrowIfNull(ze);
        var cs = codebook.Shape;
        if (cs.Length != 2 || cs[0] < 1 || cs[1] < 1)
            throw new ArgumentException($"quantize: codebook must be [K, D] with K, D ≥ 1, got {ShapeUtil.Format(cs)}.", nameof(codebook));
        var s = ze.Shape;
        if (s.Length != 4 || s[1] != cs[1] || s[0] < 1 || s[2] < 1 || s[3] < 1)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"quantize: z_e must be [B, D={cs[1]}, H, W] to match the codebook {ShapeUtil.Format(cs)}, got {ShapeUtil.Format(s)}."), nameof(ze));
        return (s[0], s[1], s[2], s[3]);
    }
}
