using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Integer grids (code indices) to learned vectors, laid out for a convolution.
public sealed partial class Tensor
{
    /// <summary>
    /// Embeds a grid of integer codes: this is the table [K,D]; <paramref name="codes"/> holds
    /// B·H·W indices in row-major [B,H,W] order; the result is [B,D,H,W] (channels first, ready for a
    /// convolution). Backward scatter-adds into the table's rows (nn.Embedding, then a permute).
    /// </summary>
    /// <example><code>var x = table.EmbedGrid(codes, batch, 7, 7);   // [batch, D, 7, 7]</code></example>
    public Tensor EmbedGrid(int[] codes, int batch, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (Rank != 2) throw new ArgumentException($"embedGrid: the table must be 2-D [K,D], got {ShapeUtil.Format(Raw.Shape)}.");
        if (batch < 0 || height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"embedGrid: the grid [{batch},{height},{width}] has a negative dimension.");
        if ((long)batch * height * width != codes.Length)
            throw new ArgumentException($"embedGrid: a [{batch},{height},{width}] grid needs {(long)batch * height * width} codes, got {codes.Length}.", nameof(codes));
        CheckIndices("embedGrid", codes, Raw.Shape[0]);
        using var _ = OpProfiler.Time("embedGrid");
        int dim = Raw.Shape[1];
        return GatherRows(codes).Reshape(batch, height, width, dim).Permute(0, 3, 1, 2);
    }
}
