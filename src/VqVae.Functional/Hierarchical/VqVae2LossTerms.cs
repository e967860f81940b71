using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// The named loss terms of one VQ-VAE-2 forward pass, tracked when computed under <see cref="Grad"/>.
/// </summary>
/// <param name="Recon">Reconstruction term (on the cropped image, pixels in [0, 1]).</param>
/// <param name="CodebookTop">mean((z_q,t − NoDiff(z_e,t))²): trains only the top codebook (reported but not differentiable with EMA).</param>
/// <param name="CodebookBottom">mean((z_q,b − NoDiff(z_e,b))²): trains only the bottom codebook.</param>
/// <param name="CommitmentTop">mean((z_e,t − NoDiff(z_q,t))²).</param>
/// <param name="CommitmentBottom">mean((z_e,b − NoDiff(z_q,b))²).</param>
/// <param name="Total">recon + codebook_t + codebook_b + β·(commitment_t + commitment_b); with EMA recon + β·(commitment_t + commitment_b).</param>
/// <param name="TopQuantized">The top quantizer's result.</param>
/// <param name="BottomQuantized">The bottom quantizer's result.</param>
/// <param name="XHat">The reconstruction in pixels, cropped to the input's size.</param>
public sealed record VqVae2LossTerms(Tensor Recon, Tensor CodebookTop, Tensor CodebookBottom, Tensor CommitmentTop, Tensor CommitmentBottom,
    Tensor Total, Quantized TopQuantized, Quantized BottomQuantized, Tensor XHat)
{
    /// <summary>The term names (gradient-file and routing names), in order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["recon", "codebook_t", "codebook_b", "commitment_t", "commitment_b", "total"];

    /// <summary>The term called <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public Tensor Term(string name) => name switch
    {
        "recon" => Recon,
        "codebook_t" => CodebookTop,
        "codebook_b" => CodebookBottom,
        "commitment_t" => CommitmentTop,
        "commitment_b" => CommitmentBottom,
        "total" => Total,
        _ => throw new ArgumentException($"vqvae2 loss terms: unknown term '{name}'; expected {string.Join(", ", Names)}.", nameof(name)),
    };
}
