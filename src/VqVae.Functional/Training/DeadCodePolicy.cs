using VqVae.Functional.Codebooks;

namespace VqVae.Functional.Training;

/// <summary>
/// Dead-code expiry in the trainer (as SoundStream and vector-quantize-pytorch do it): every
/// <see cref="Every"/> steps, each code chosen by too few rows over the trainer's usage window is
/// moved onto a random encoder output of the current batch (its EMA statistics reset with it), so
/// that it competes again where the data are.
/// </summary>
/// <remarks>
/// "Too few" is relative by default: fewer than <see cref="MinShare"/> of an even share of the
/// window's rows (rows / K). A code chosen once in a whole epoch is as good as dead, and waiting for
/// it to reach zero lets the encoder drift away from a codebook of which only a few codes serve: on
/// mnistSmall that wait made the codebook and commitment terms grow 25-fold (total loss 0.26 → 0.70)
/// before a mass restart at the epoch's end. vector-quantize-pytorch's <c>threshold_ema_dead_code</c>
/// is the same idea on an EMA of the counts.
/// </remarks>
/// <param name="Every">Steps between two checks (≥ 1).</param>
/// <param name="Threshold">A code with fewer rows than this over the window is dead whatever the share (≥ 1; 1 = never chosen).</param>
/// <param name="MinShare">A code with fewer rows than this fraction of rows / K over the window is dead (in [0, 1); 0 = only <see cref="Threshold"/> counts).</param>
/// <example><code>
/// var options = new TrainOptions { Steps = 600, UsageWindow = 128, DeadCodes = DeadCodePolicy.Default with { MinShare = 0.05 } };
/// </code></example>
public sealed record DeadCodePolicy(int Every = 20, int Threshold = 1, double MinShare = 0.1)
{
    /// <summary>Check every 20 steps; codes chosen by fewer than a tenth of an even share of the window's rows are re-seeded.</summary>
    public static DeadCodePolicy Default { get; } = new();

    /// <summary>Throws naming the bad field.</summary>
    public DeadCodePolicy Validate()
    {
        if (Every < 1) throw new ArgumentOutOfRangeException(nameof(Every), Every, $"deadCodes: Every must be ≥ 1 step, got {Every}.");
        if (Threshold < 1) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, $"deadCodes: Threshold must be ≥ 1 row, got {Threshold}.");
        if (!(MinShare >= 0 && MinShare < 1)) throw new ArgumentOutOfRangeException(nameof(MinShare), MinShare, $"deadCodes: MinShare must be in [0, 1), got {MinShare}.");
        return this;
    }

    /// <summary>
    /// The row count below which a code of <paramref name="usage"/> is dead: the larger of
    /// <see cref="Threshold"/> and <see cref="MinShare"/> × rows / K, rounded up (so "fewer than" means
    /// the same for the real and the rounded bound).
    /// </summary>
    /// <example><code>
    /// long below = DeadCodePolicy.Default.ThresholdFor(usage);   // 10 for 12,800 rows over 128 codes
    /// </code></example>
    public long ThresholdFor(CodeUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return Math.Max(Threshold, (long)Math.Ceiling(MinShare * usage.Total / usage.Codes));
    }
}
