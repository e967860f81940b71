using System.Collections.Immutable;
using System.Diagnostics;
using VqVae.Functional.Codebooks;
using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>The outcome of a run of training steps.</summary>
/// <param name="Model">The model after the last step.</param>
/// <param name="State">The optimizer state after the last step.</param>
/// <param name="Metrics">Each step's metrics, in order.</param>
/// <param name="Usage">Code usage summed over the run's batches (for dead codes and epoch perplexity).</param>
/// <param name="Window">Code usage over the last <see cref="TrainOptions.UsageWindow"/> steps (the whole run when 0).</param>
/// <param name="Outcome">Whether every step ran, the run was cancelled, or it diverged.</param>
public sealed record TrainResult(VqVaeModel Model, OptimizerState<VqVaeModel> State, ImmutableArray<StepMetrics> Metrics, CodeUsage Usage,
    CodeUsage Window, TrainOutcome Outcome)
{
    /// <summary>Why the run stopped, when <see cref="Outcome"/> is <see cref="TrainOutcome.Diverged"/>.</summary>
    public Divergence? Divergence { get; init; }
    /// <summary>The warnings of the run, in order (at most one per kind).</summary>
    public ImmutableArray<TrainWarning> Warnings { get; init; } = [];
    /// <summary>How many times dead-code expiry moved a code.</summary>
    public int RestartedCodes { get; init; }
}

/// <summary>
/// The one training loop of the project (CLI, bench, F# and C# call it): folds <see cref="TrainStep.Apply"/>
/// over a sequence of batches, counts code usage over the run and over a sliding window, and calls
/// the hooks of <see cref="TrainOptions"/> between steps. Pure apart from those hooks.
/// </summary>
/// <example><code>
/// var run = Trainer.Run(Adam.Create(1e-3f), model, batches, steps: 500, onStep: m => { if (m.Step % 50 == 0) Console.WriteLine(m); });
/// var trained = run.Model;
/// </code></example>
public static partial class Trainer
{
    /// <summary>
    /// Runs <see cref="TrainOptions.Steps"/> steps (default: one per batch) from <paramref name="model"/> and
    /// <paramref name="state"/>, calling the hooks of <paramref name="options"/> between steps.
    /// With a step count, the batches are cycled when the sequence is shorter (it is enumerated
    /// again, so pass a list or an array).
    /// </summary>
    public static TrainResult Run(IOptimizer optimizer, VqVaeModel model, OptimizerState<VqVaeModel> state, IEnumerable<Tensor> batches, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var metrics = ImmutableArray.CreateBuilder<StepMetrics>();
        int k = model.Codebook.Size;
        var all = new UsageWindow(k, 0);
        var window = new UsageWindow(k, options.UsageWindow);
        // A resumed run continues the window it was saved with, so dead codes are judged (and restarted) as if it never stopped.
        if (options.Window is { } saved)
        {
            try { window.AddRows(saved); }
            catch (ArgumentException e) { throw new ArgumentException($"trainer: Window: {e.Message}", nameof(options), e); }
        }
        var watch = new HealthWatch(k, options);
        var outcome = TrainOutcome.Completed;
        Divergence? divergence = null;
        int done = 0, restartedTotal = 0, savedStep = -1;
        Lazy<TrainSnapshot>? latest = null;
        foreach (var x in Schedule(batches, options.Steps))
        {
            if (options.Cancellation.IsCancellationRequested)
            {
                outcome = TrainOutcome.Cancelled;
                // A cancelled run's last step is checkpointed too, so nothing done is lost.
                if (options.OnCheckpoint is { } saveLast && latest is { } l && savedStep != state.Step) saveLast(l.Value);
                break;
            }
            long t0 = Stopwatch.GetTimestamp();
            var step = TryStep(() => TrainStep.Apply(optimizer, model, state, x), options.Divergence is not null);
            if (step is null)
            {
                (outcome, divergence) = (TrainOutcome.Diverged, new Divergence(state.Step + 1, "encoder output", float.NaN, double.NaN));
                break;
            }
            var (next, nextState, m) = step.Value;
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            // The step's loss belongs to the model it started from: when it is bad, neither that model
            // nor its update is kept, and the run ends with the last model whose loss was sane.
            if (watch.Diverged(m) is { } d) { (outcome, divergence) = (TrainOutcome.Diverged, d); break; }
            (model, state) = (next, nextState);
            done++;
            all.Add(m.CodeCounts);
            window.Add(m.CodeCounts);
            int restarted = 0;
            // Periodic actions follow the optimizer's step count, not this call's: a resumed run keeps the same rhythm.
            if (options.DeadCodes is { } policy && state.Step % policy.Every == 0)
            {
                var rows = CodebookOps.EncoderRows(model, [x]);
                (model, var codes) = CodebookOps.DeadCodeRestart(model, rows, window.Current, policy, options.Rng.Fold(m.Step));
                restarted = codes.Length;
                restartedTotal += restarted;
            }
            metrics.Add(m);
            var current = window.Current;
            options.OnStep?.Invoke(new StepReport(m, seconds, current, x.Shape[0]) { RestartedCodes = restarted });
            foreach (var w in watch.Warnings(m, current, window.Steps)) options.OnWarning?.Invoke(w);
            bool last = done == options.Steps;
            var (snapModel, snapState) = (model, state);
            var snapshot = new Lazy<TrainSnapshot>(() => new TrainSnapshot(snapState.Step, snapModel, snapState) { Window = window.Rows });
            latest = snapshot; // nothing moves until the next step, which cancellation is checked before
            if (options.OnCheckpoint is { } save && ((options.CheckpointEvery > 0 && state.Step % options.CheckpointEvery == 0) || last))
            {
                save(snapshot.Value);
                savedStep = state.Step;
            }
            if (options.OnEvaluate is { } evaluate && options.EvaluateEvery > 0 && (state.Step % options.EvaluateEvery == 0 || last))
                evaluate(snapshot.Value);
        }
        return new(model, state, metrics.ToImmutable(), all.Current, window.Current, outcome)
        {
            Divergence = divergence, Warnings = watch.Issued, RestartedCodes = restartedTotal,
        };
    }

    // One step, or null when it met a non-finite number and the run watches for divergence (the caller
    // ends the run); both training loops use it. A helper returning a value rather than assignments inside
    // try: a mutant that drops a statement then still compiles, so mutation testing keeps the mutants of Run.
    private static T? TryStep<T>(Func<T> step, bool watching) where T : struct
    {
        try { return step(); }
        catch (NotFiniteNumberException) when (watching) { return null; }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps (default: one per batch) from <paramref name="model"/> and
    /// <paramref name="state"/>, with <paramref name="onStep"/> after each.
    /// </summary>
    public static TrainResult Run(IOptimizer optimizer, VqVaeModel model, OptimizerState<VqVaeModel> state, IEnumerable<Tensor> batches,
        int? steps = null, Action<StepMetrics>? onStep = null)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "trainer: steps must be ≥ 0.");
        return Run(optimizer, model, state, batches, new TrainOptions { Steps = steps, OnStep = onStep is null ? null : r => onStep(r.Metrics) });
    }

    /// <summary>Like the other overload, starting from a fresh optimizer state.</summary>
    public static TrainResult Run(IOptimizer optimizer, VqVaeModel model, IEnumerable<Tensor> batches,
        int? steps = null, Action<StepMetrics>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        return Run(optimizer, model, optimizer.Init(model), batches, steps, onStep);
    }

    /// <summary>
    /// Carries out <paramref name="plan"/>: pretraining and k-means initialisation when asked for,
    /// then <see cref="Run(IOptimizer, VqVaeModel, OptimizerState{VqVaeModel}, IEnumerable{Tensor}, TrainOptions)"/>
    /// from the plan's optimizer state (or a fresh one). The batches are enumerated once per phase.
    /// </summary>
    public static TrainResult Fit(TrainPlan plan, IEnumerable<Tensor> batches, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan); ArgumentNullException.ThrowIfNull(batches); ArgumentNullException.ThrowIfNull(options);
        var model = plan.Model;
        if (plan.PretrainSteps > 0)
        {
            var kind = Recipes.PretrainLoss(model);
            plan.OnPhase?.Invoke($"pretraining the autoencoder for {plan.PretrainSteps} step(s) (codebook bypassed{(kind != model.Config.Reconstruction ? "; BCE for the sigmoid output" : "")})");
            model = Recipes.PretrainAutoencoder(model, plan.Optimizer, batches, plan.PretrainSteps).Model;
        }
        if (plan.KMeansInit)
        {
            plan.OnPhase?.Invoke($"initialising the {model.Codebook.Size} codes by k-means on encoder outputs");
            model = CodebookOps.KMeansInit(model, batches, plan.Rng.Fold(2));
        }
        return Run(plan.Optimizer, model, plan.State ?? plan.Optimizer.Init(model), batches, options);
    }

    internal static IEnumerable<Tensor> Schedule(IEnumerable<Tensor> batches, int? steps)
    {
        if (steps is null) { foreach (var b in batches) yield return b; yield break; }
        int done = 0;
        while (done < steps)
        {
            bool any = false;
            foreach (var b in batches)
            {
                if (done == steps) yield break;
                any = true;
                done++;
                yield return b;
            }
            if (!any) throw new ArgumentException($"trainer: {steps} steps were asked for but the batch sequence is empty.", nameof(batches));
        }
    }
}
