using VqVae.Functional.Training;

namespace VqVae.Cli.Train;

/// <summary>Everything <c>vqvae train</c> was asked to do, after parsing.</summary>
internal sealed record TrainSettings(
    string Data, int? Steps, int? Epochs, int Batch, float LearningRate,
    int? Codebook, int? Dim, int? Hidden, float? Beta, bool Ema, int Seed, string Out,
    string Preset, int Pretrain, bool KMeansInit, string? Resume, float? MaxMemoryGb = null, bool DeadCodeRestart = true,
    int CheckpointEvery = TrainRun.DefaultCheckpointEvery)
{
    /// <summary>The options given on the command line (not defaulted) among those <c>--resume</c> compares with the checkpoint.</summary>
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>();

    /// <summary><c>--dead-code-share</c>: <see cref="DeadCodePolicy.MinShare"/> of the restart rule.</summary>
    public double DeadCodeShare { get; init; } = DeadCodePolicy.Default.MinShare;

    /// <summary>The trainer's dead-code policy: the default rule with this share, or none with <c>--no-dead-code-restart</c>.</summary>
    public DeadCodePolicy? DeadCodes => DeadCodeRestart ? DeadCodePolicy.Default with { MinShare = DeadCodeShare } : null;
}
