using System.Collections.Immutable;
using System.Diagnostics;
using VqVae.Functional.Codebooks;
using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

public static partial class Trainer
{
    /// <summary>
    /// What a training loop needs to know about its model's levels (one for a VQ-VAE, two for a VQ-VAE-2); the loop
    /// itself (<see cref="Loop"/>) is written once, so both trainers keep the same step schedule, divergence rule,
    /// dead-code rhythm, hooks and warnings. Implementations hold the run's usage windows (mutable, inside the loop).
    /// </summary>
    private interface ILevels<TModel, TMetrics> where TModel : class, IParameterTree<TModel>
    {
        /// <summary>One training step from <paramref name="model"/> and <paramref name="state"/> on batch <paramref name="x"/>.</summary>
        (TModel Model, OptimizerState<TModel> State, TMetrics Metrics) Step(TModel model, OptimizerState<TModel> state, Tensor x);
        /// <summary>The step's metrics as one row (losses summed over the levels): what the guards, warnings and OnStep see.</summary>
        StepMetrics Combined(TMetrics m);
        /// <summary>Adds a kept step's code counts to the run's windows.</summary>
        void Count(TMetrics m);
        /// <summary>The window that OnStep reports and the collapse warnings watch.</summary>
        UsageWindow Watched { get; }
        /// <summary>Dead-code expiry on the batch <paramref name="x"/>, judged on the windows.</summary>
        (TModel Model, int Restarted) RestartDeadCodes(TModel model, Tensor x, DeadCodePolicy policy, Rng rng);
        /// <summary>After a kept step and its hooks: <paramref name="last"/> when it was the run's last step.</summary>
        void Stepped(TModel model, OptimizerState<TModel> state, bool last);
        /// <summary>The run was cancelled before its next step; <paramref name="state"/> is the last kept one.</summary>
        void Cancelled(OptimizerState<TModel> state);
    }

    /// <summary>What <see cref="Loop"/> returns; each trainer turns it into its public result record.</summary>
    private readonly record struct LoopResult<TModel, TMetrics>(TModel Model, OptimizerState<TModel> State, ImmutableArray<TMetrics> Metrics,
        TrainOutcome Outcome, Divergence? Divergence, ImmutableArray<TrainWarning> Warnings, int RestartedCodes) where TModel : class, IParameterTree<TModel>;

    /// <summary>
    /// The training loop: <see cref="TrainOptions.Steps"/> steps over the batches (cycled), each kept unless its loss is
    /// bad (the run then ends with the last sane model), code usage counted, dead codes restarted every
    /// <see cref="DeadCodePolicy.Every"/> optimizer steps, OnStep and warnings called after each step.
    /// </summary>
    private static LoopResult<TModel, TMetrics> Loop<TModel, TMetrics>(ILevels<TModel, TMetrics> levels, TModel model,
        OptimizerState<TModel> state, IEnumerable<Tensor> batches, TrainOptions options, Action<TMetrics>? onStep)
        where TModel : class, IParameterTree<TModel>
    {
        var metrics = ImmutableArray.CreateBuilder<TMetrics>();
        var watch = new HealthWatch(levels.Watched.Current.Codes, options);
        var outcome = TrainOutcome.Completed;
        Divergence? divergence = null;
        int done = 0, restartedTotal = 0;
        foreach (var x in Schedule(batches, options.Steps))
        {
            if (options.Cancellation.IsCancellationRequested)
            {
                outcome = TrainOutcome.Cancelled;
                levels.Cancelled(state);
                break;
            }
            long t0 = Stopwatch.GetTimestamp();
            var step = TryStep(() => levels.Step(model, state, x), options.Divergence is not null);
            if (step is null)
            {
                (outcome, divergence) = (TrainOutcome.Diverged, new Divergence(state.Step + 1, "encoder output", float.NaN, double.NaN));
                break;
            }
            var (next, nextState, m) = step.Value;
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var combined = levels.Combined(m);
            // The step's loss belongs to the model it started from: when it is bad, neither that model
            // nor its update is kept, and the run ends with the last model whose loss was sane.
            if (watch.Diverged(combined) is { } d) { (outcome, divergence) = (TrainOutcome.Diverged, d); break; }
            (model, state) = (next, nextState);
            done++;
            levels.Count(m);
            int restarted = 0;
            // Periodic actions follow the optimizer's step count, not this call's: a resumed run keeps the same rhythm.
            if (options.DeadCodes is { } policy && state.Step % policy.Every == 0)
            {
                (model, restarted) = levels.RestartDeadCodes(model, x, policy, options.Rng.Fold(combined.Step));
                restartedTotal += restarted;
            }
            metrics.Add(m);
            onStep?.Invoke(m);
            var current = levels.Watched.Current;
            options.OnStep?.Invoke(new StepReport(combined, seconds, current, x.Shape[0]) { RestartedCodes = restarted });
            foreach (var w in watch.Warnings(combined, current, levels.Watched.Steps)) options.OnWarning?.Invoke(w);
            levels.Stepped(model, state, done == options.Steps);
        }
        return new(model, state, metrics.ToImmutable(), outcome, divergence, watch.Issued, restartedTotal);
    }

    // One step, or null when it met a non-finite number and the run watches for divergence (the caller
    // ends the run). A helper returning a value rather than assignments inside try: a mutant that drops a
    // statement then still compiles, so mutation testing keeps the mutants of the loop.
    private static T? TryStep<T>(Func<T> step, bool watching) where T : struct
    {
        try { return step(); }
        // Stryker disable once Block : equivalent, the emptied block Stryker compiles returns default, which is null here
        catch (NotFiniteNumberException) when (watching) { return null; }
    }

    internal static IEnumerable<Tensor> Schedule(IEnumerable<Tensor> batches, int? steps)
    {
        // Stryker disable once Statement : equivalent, without the yield break the loop below ends at once (a comparison with a null count is false)
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
