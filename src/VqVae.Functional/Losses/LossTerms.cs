using VqVae.Tensors;

namespace VqVae.Functional.Losses;

/// <summary>
/// The named loss terms of one forward pass (DESIGN §4), tracked when computed under
/// <see cref="Grad"/>, plus what the training step needs next.
/// </summary>
/// <param name="Recon">Reconstruction term.</param>
/// <param name="Codebook">mean((z_q − NoDiff(z_e))²) (for the EMA quantizer reported but not differentiable).</param>
/// <param name="Commitment">mean((z_e − NoDiff(z_q))²).</param>
/// <param name="Total">recon + codebook + β·commitment (EMA: recon + β·commitment).</param>
/// <param name="Perplexity">Codebook perplexity of the batch.</param>
/// <param name="Quantized">The quantizer's result (z_e, z_q, indices, counts).</param>
/// <param name="XHat">The reconstruction x̂.</param>
/// <param name="Model">The input model with buffers (BatchNorm running statistics) updated by a training-mode pass; the input model otherwise.</param>
public sealed record LossTerms(Tensor Recon, Tensor Codebook, Tensor Commitment, Tensor Total, double Perplexity,
    Quantized Quantized, Tensor XHat, VqVaeModel Model)
{
    /// <summary>The four terms as untracked floats, for logs.</summary>
    public (float Recon, float Codebook, float Commitment, float Total) Values =>
        (Recon.ToScalar(), Codebook.ToScalar(), Commitment.ToScalar(), Total.ToScalar());

    /// <summary>The term called recon, codebook, commitment or total (DESIGN §6 gradient-file names).</summary>
    public Tensor Term(string name) => name switch
    {
        "recon" => Recon,
        "codebook" => Codebook,
        "commitment" => Commitment,
        "total" => Total,
        _ => throw new ArgumentException($"loss terms: unknown term '{name}'; expected recon, codebook, commitment or total.", nameof(name)),
    };

    /// <summary>The term names in DESIGN §6 order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["recon", "codebook", "commitment", "total"];
}
