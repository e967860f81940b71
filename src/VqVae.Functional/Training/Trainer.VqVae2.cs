using System.Collections.Immutable;
using VqVae.Functional.Codebooks;
using VqVae.Functional.Hierarchical;
using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>The outcome of a run of VQ-VAE-2 training steps.</summary>
/// <param name="Model">The model after the last step.</param>
/// <param name="State">The optimizer state after the last step.</param>
/// <param name="Metrics">Each step's metrics, per level, in order.</param>
/// <param name="TopWindow">Top code usage over the last <see cref="TrainOptions.UsageWindow"/> steps (the whole run when 0).</param>
/// <param name="BottomWindow">Bottom code usage over the same steps.</param>
/// <param name="Outcome">Whether every step ran, the run was cancelled, or it diverged.</param>
public sealed record VqVae2TrainResult(VqVae2Model Model, OptimizerState<VqVae2Model> State, ImmutableArray<VqVae2StepMetrics> Metrics,
    CodeUsage TopWindow, CodeUsage BottomWindow, TrainOutcome Outcome)
{
    /// <summary>Why the run stopped, when <see cref="Outcome"/> is <see cref="TrainOutcome.Diverged"/>.</summary>
    public Divergence? Divergence { get; init; }
    /// <summary>The warnings of the run, in order (at most one per kind; codebook collapse is watched on the bottom level).</summary>
    public ImmutableArray<TrainWarning> Warnings { get; init; } = [];
    /// <summary>How many times dead-code expiry moved a code (both levels).</summary>
    public int RestartedCodes { get; init; }
}

public static partial class Trainer
{
    /// <summary>
    /// The training loop for a VQ-VAE-2: <see cref="VqVae2TrainStep.Apply"/> folded over the batches, with the same
    /// options as the single-level loop: steps (cycling the batches), usage windows (one per level), dead-code expiry
    /// at both levels, the divergence guard and warnings, cancellation, and <see cref="TrainOptions.OnStep"/> called with
    /// <see cref="VqVae2StepMetrics.Combined"/> and the bottom level's window. <paramref name="onStep"/>, when given,
    /// also gets each step's per-level metrics. The snapshot hooks (<see cref="TrainOptions.OnCheckpoint"/>,
    /// <see cref="TrainOptions.OnEvaluate"/>) hold a single-level model and are refused here, as is a saved
    /// <see cref="TrainOptions.Window"/> (one level's usage). Both loops are <c>Loop</c> (Trainer.Loop.cs) with their levels.
    /// </summary>
    /// <example><code>
    /// var run = Trainer.Run(adam, VqVae2Model.Init(VqVae2Config.Mnist, Rng.Seed(0)), batches, new TrainOptions { Steps = 500 });
    /// Console.WriteLine($"{run.TopWindow.Used} top and {run.BottomWindow.Used} bottom codes used");
    /// </code></example>
    public static VqVae2TrainResult Run(IOptimizer optimizer, VqVae2Model model, IEnumerable<Tensor> batches, TrainOptions options,
        OptimizerState<VqVae2Model>? state = null, Action<VqVae2StepMetrics>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches); ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.OnCheckpoint is not null || options.OnEvaluate is not null)
            throw new ArgumentException("trainer: OnCheckpoint and OnEvaluate take single-level snapshots; for a VQ-VAE-2 use onStep and the result's Model.", nameof(options));
        if (options.Window is not null)
            throw new ArgumentException("trainer: Window holds one level's saved usage; a VQ-VAE-2 run starts its two windows empty.", nameof(options));
        state ??= optimizer.Init(model);
        var levels = new TwoLevels(optimizer, model.Config, options);
        var r = Loop(levels, model, state, batches, options, onStep);
        return new(r.Model, r.State, r.Metrics, levels.Top.Current, levels.Bottom.Current, r.Outcome)
        {
            Divergence = r.Divergence, Warnings = r.Warnings, RestartedCodes = r.RestartedCodes,
        };
    }

    /// <summary>The two-level loop's usage windows (the bottom one is watched and reported); it has no snapshot hooks.</summary>
    private sealed class TwoLevels(IOptimizer optimizer, VqVae2Config config, TrainOptions options) : ILevels<VqVae2Model, VqVae2StepMetrics>
    {
        public UsageWindow Top { get; } = new(config.TopCodebookSize, options.UsageWindow);
        public UsageWindow Bottom { get; } = new(config.BottomCodebookSize, options.UsageWindow);
        public UsageWindow Watched => Bottom;

        public (VqVae2Model, OptimizerState<VqVae2Model>, VqVae2StepMetrics) Step(VqVae2Model model, OptimizerState<VqVae2Model> state, Tensor x) =>
            VqVae2TrainStep.Apply(optimizer, model, state, x);

        public StepMetrics Combined(VqVae2StepMetrics m) => m.Combined;

        public void Count(VqVae2StepMetrics m)
        {
            Top.Add(m.TopCounts);
            Bottom.Add(m.BottomCounts);
        }

        public (VqVae2Model, int) RestartDeadCodes(VqVae2Model model, Tensor x, DeadCodePolicy policy, Rng rng) =>
            VqVae2TrainStep.DeadCodeRestart(model, x, Top.Current, Bottom.Current, policy, rng);

        public void Stepped(VqVae2Model model, OptimizerState<VqVae2Model> state, bool last) { }

        public void Cancelled(OptimizerState<VqVae2Model> state) { }
    }
}
