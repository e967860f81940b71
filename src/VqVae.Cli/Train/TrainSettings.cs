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
}
