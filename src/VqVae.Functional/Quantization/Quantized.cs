using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Quantization;

/// <summary>
/// The quantizer's result for latents z_e [B,D,H,W].
/// </summary>
/// <param name="DecoderInput">z_e + NoDiff(z_q − z_e): the values of z_q (up to rounding) with z_e's gradient path (straight-through).</param>
/// <param name="ZE">The encoder output z_e.</param>
/// <param name="ZQ">The chosen codes e[index], [B,D,H,W], differentiable with respect to the codebook.</param>
/// <param name="Indices">The chosen code per latent position, [B,H,W].</param>
/// <param name="Perplexity">exp(−Σ p_k ln p_k), p_k = share of the positions assigned to code k.</param>
/// <param name="Counts">Positions assigned to each code, length K.</param>
public sealed record Quantized(Tensor DecoderInput, Tensor ZE, Tensor ZQ, CodeIndices Indices, double Perplexity, ImmutableArray<int> Counts)
{
    /// <summary>z_e as channel-last rows [B·H·W, D] (untracked), the rows the indices belong to (for EMA and k-means updates).</summary>
    public Tensor Rows()
    {
        var s = ZE.Shape;
        return ZE.NoDiff().Permute(0, 2, 3, 1).Reshape(-1, s[1]);
    }

    /// <summary>Number of codes used at least once.</summary>
    public int CodesUsed => Counts.Count(c => c > 0);
}
