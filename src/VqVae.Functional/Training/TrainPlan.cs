using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>
/// A whole training run as <see cref="Trainer.Fit"/> carries it out: the starting model and
/// optimizer (and, to resume, its state), then optional autoencoder pretraining and k-means
/// codebook initialisation before the quantized steps.
/// </summary>
/// <param name="Model">The model to start from.</param>
/// <param name="Optimizer">The optimizer of every phase.</param>
/// <example><code>
/// var plan = new TrainPlan(VqVaeModel.Init(cfg, Rng.Seed(0)), Adam.Create(1e-3f)) { PretrainSteps = 50, KMeansInit = true };
/// var run = Trainer.Fit(plan, batches, new TrainOptions { Steps = 600 });
/// </code></example>
public sealed record TrainPlan(VqVaeModel Model, IOptimizer Optimizer)
{
    /// <summary>The optimizer state to continue from (a resumed run); null starts a fresh one.</summary>
    public OptimizerState<VqVaeModel>? State { get; init; }

    /// <summary>Steps of autoencoder pretraining (codebook bypassed) before quantized training; 0 for none.</summary>
    public int PretrainSteps { get; init; }

    /// <summary>Set the codebook by k-means on encoder outputs (after any pretraining) before quantized training.</summary>
    public bool KMeansInit { get; init; }

    /// <summary>The key of the random choices the plan makes (k-means seeding).</summary>
    public Rng Rng { get; init; } = Rng.Seed(0);

    /// <summary>Told, in a few words, when a phase starts ("pretraining …", "k-means …").</summary>
    public Action<string>? OnPhase { get; init; }
}
