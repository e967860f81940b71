using VqVae.Functional.Codebooks;

namespace VqVae.Functional.Training;

/// <summary>What the trainer reports after each step.</summary>
/// <param name="Metrics">The step's loss terms, batch perplexity and code counts.</param>
/// <param name="Seconds">Wall time of the step (forward, backward, update).</param>
/// <param name="Window">Code usage over the last <see cref="TrainOptions.UsageWindow"/> steps (the whole run so far when 0).</param>
/// <param name="Images">Images in the step's batch.</param>
public sealed record StepReport(StepMetrics Metrics, double Seconds, CodeUsage Window, int Images)
{
    /// <summary>Throughput of the step.</summary>
    public double ImagesPerSecond => Seconds > 0 ? Images / Seconds : 0;

    /// <summary>Codes re-seeded by dead-code expiry after this step (usually none).</summary>
    public int RestartedCodes { get; init; }
}
