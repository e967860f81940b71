using System.Collections.Immutable;

namespace VqVae.Functional.Training;

/// <summary>What one training step measured (before its update was applied).</summary>
/// <param name="Step">1-based number of the step within its run (the optimizer's step count after it).</param>
/// <param name="Recon">Reconstruction term.</param>
/// <param name="Codebook">Codebook term (reported but not trained by gradient with an EMA quantizer).</param>
/// <param name="Commitment">Commitment term (unweighted).</param>
/// <param name="Total">The loss that was differentiated.</param>
/// <param name="Perplexity">Codebook perplexity of the batch.</param>
/// <param name="UsedCodes">Codes chosen at least once in the batch.</param>
/// <param name="GradientNorm">Global L2 norm of the gradient before any clipping.</param>
/// <param name="CodeCounts">Rows assigned to each code in the batch (for usage over an epoch).</param>
public sealed record StepMetrics(int Step, float Recon, float Codebook, float Commitment, float Total,
    double Perplexity, int UsedCodes, double GradientNorm, ImmutableArray<int> CodeCounts)
{
    /// <summary>Standard deviation of the reconstruction's pixels over the batch (near 0: a constant, e.g. all-black, output).</summary>
    public double OutputStd { get; init; }
    /// <summary>Mean of the reconstruction's pixels over the batch.</summary>
    public double OutputMean { get; init; }
    /// <summary>Standard deviation of the batch's pixels (what a non-constant reconstruction should come near).</summary>
    public double InputStd { get; init; }

    /// <summary>A one-line summary for progress output.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"step {Step}: total {Total:G5} recon {Recon:G5} codebook {Codebook:G5} commitment {Commitment:G5} perplexity {Perplexity:F2} used {UsedCodes} |g| {GradientNorm:G4}");
}
