using VqVae.Functional.Quantization;

namespace VqVae.Functional.Hierarchical;

/// <summary>A VQ-VAE-2's code grids for a batch: the top grid [B, H'/8, W'/8] and the bottom grid [B, H'/4, W'/4] (H' the padded side).</summary>
/// <param name="Top">Top-level code indices.</param>
/// <param name="Bottom">Bottom-level code indices.</param>
public sealed record HierarchicalCodes(CodeIndices Top, CodeIndices Bottom)
{
    /// <summary>Number of images.</summary>
    public int Batch => Top.Batch;
}
