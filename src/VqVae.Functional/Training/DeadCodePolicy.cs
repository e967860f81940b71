namespace VqVae.Functional.Training;

/// <summary>
/// Dead-code expiry in the trainer (as SoundStream and vector-quantize-pytorch do it): every
/// <see cref="Every"/> steps, each code chosen by fewer than <see cref="Threshold"/> rows over the
/// trainer's usage window is moved onto a random encoder output of the current batch (its EMA
/// statistics reset with it), so that it competes again where the data are.
/// </summary>
/// <param name="Every">Steps between two checks (≥ 1).</param>
/// <param name="Threshold">A code with fewer rows than this over the window is dead (≥ 1; 1 = never chosen).</param>
/// <example><code>
/// var options = new TrainOptions { Steps = 600, UsageWindow = 128, DeadCodes = DeadCodePolicy.Default };
/// </code></example>
public sealed record DeadCodePolicy(int Every = 20, int Threshold = 1)
{
    /// <summary>Check every 20 steps; codes no row chose over the window are re-seeded.</summary>
    public static DeadCodePolicy Default { get; } = new();

    /// <summary>Throws naming the bad field.</summary>
    public DeadCodePolicy Validate()
    {
        if (Every < 1) throw new ArgumentOutOfRangeException(nameof(Every), Every, $"deadCodes: Every must be ≥ 1 step, got {Every}.");
        if (Threshold < 1) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, $"deadCodes: Threshold must be ≥ 1 row, got {Threshold}.");
        return this;
    }
}
