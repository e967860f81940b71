using System.Collections.Immutable;
using System.Diagnostics;
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
    /// <see cref="TrainOptions.OnEvaluate"/>) hold a single-level model and are refused here.
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
        state ??= optimizer.Init(model);
        var metrics = ImmutableArray.CreateBuilder<VqVae2StepMetrics>();
        var topWindow = new UsageWindow(model.Config.TopCodebookSize, options.UsageWindow);
        var bottomWindow = new UsageWindow(model.Config.BottomCodebookSize, options.UsageWindow);
        var watch = new HealthWatch(model.Config.BottomCodebookSize, options);
        var outcome = TrainOutcome.Completed;
        Divergence? divergence = null;
        int done = 0, restartedTotal = 0;
        foreach (var x in Schedule(batches, options.Steps))
        {
            if (options.Cancellation.IsCancellationRequested) { outcome = TrainOutcome.Cancelled; break; }
            long t0 = Stopwatch.GetTimestamp();
            var step = TryStep(() => VqVae2TrainStep.Apply(optimizer, model, state, x), options.Divergence is not null);
            if (step is null)
            {
                (outcome, divergence) = (TrainOutcome.Diverged, new Divergence(state.Step + 1, "encoder output", float.NaN, double.NaN));
                break;
            }
            var (next, nextState, m) = step.Value;
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var combined = m.Combined;
            // As in the single-level loop: a step whose loss is bad keeps neither that model nor its update.
            if (watch.Diverged(combined) is { } d) { (outcome, divergence) = (TrainOutcome.Diverged, d); break; }
            (model, state) = (next, nextState);
            done++;
            topWindow.Add(m.TopCounts);
            bottomWindow.Add(m.BottomCounts);
            int restarted = 0;
            if (options.DeadCodes is { } policy && done % policy.Every == 0)
            {
                (model, restarted) = VqVae2TrainStep.DeadCodeRestart(model, x, topWindow.Current, bottomWindow.Current, policy, options.Rng.Fold(m.Step));
                restartedTotal += restarted;
            }
            metrics.Add(m);
            onStep?.Invoke(m);
            options.OnStep?.Invoke(new StepReport(combined, seconds, bottomWindow.Current, x.Shape[0]) { RestartedCodes = restarted });
            foreach (var w in watch.Warnings(combined, bottomWindow.Current, bottomWindow.Steps)) options.OnWarning?.Invoke(w);
        }
        return new(model, state, metrics.ToImmutable(), topWindow.Current, bottomWindow.Current, outcome)
        {
            Divergence = divergence, Warnings = watch.Issued, RestartedCodes = restartedTotal,
        };
    }
}
