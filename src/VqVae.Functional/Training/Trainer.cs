using System.Collections.Immutable;
using VqVae.Functional.Codebooks;
using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>The outcome of a run of training steps.</summary>
/// <param name="Model">The model after the last step.</param>
/// <param name="State">The optimizer state after the last step.</param>
/// <param name="Metrics">Each step's metrics, in order.</param>
/// <param name="Usage">Code usage summed over the run's batches (for dead codes and epoch perplexity).</param>
public sealed record TrainResult(VqVaeModel Model, OptimizerState<VqVaeModel> State, ImmutableArray<StepMetrics> Metrics, CodeUsage Usage);

/// <summary>Folds <see cref="TrainStep.Apply"/> over a sequence of batches: pure apart from the optional progress callback.</summary>
/// <example><code>
/// var run = Trainer.Run(Adam.Create(1e-3f), model, batches, steps: 500, onStep: m => { if (m.Step % 50 == 0) Console.WriteLine(m); });
/// var trained = run.Model;
/// </code></example>
public static class Trainer
{
    /// <summary>
    /// Runs <paramref name="steps"/> steps (default: one per batch) from <paramref name="model"/> and
    /// <paramref name="state"/>. With <paramref name="steps"/> given, the batches are cycled when the
    /// sequence is shorter (it is enumerated again, so pass a list or an array).
    /// </summary>
    public static TrainResult Run(IOptimizer optimizer, VqVaeModel model, OptimizerState<VqVaeModel> state, IEnumerable<Tensor> batches,
        int? steps = null, Action<StepMetrics>? onStep = null, VqVaeConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(batches);
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "trainer: steps must be ≥ 0.");
        var metrics = ImmutableArray.CreateBuilder<StepMetrics>();
        var usage = CodeUsage.Empty(model.Codebook.Size);
        foreach (var x in Schedule(batches, steps))
        {
            StepMetrics m;
            (model, state, m) = TrainStep.Apply(optimizer, model, state, x, config);
            usage = usage.Merge(CodeUsage.FromCounts(m.CodeCounts.Select(c => (long)c)));
            metrics.Add(m);
            onStep?.Invoke(m);
        }
        return new(model, state, metrics.ToImmutable(), usage);
    }

    /// <summary>Like the other overload, starting from a fresh optimizer state.</summary>
    public static TrainResult Run(IOptimizer optimizer, VqVaeModel model, IEnumerable<Tensor> batches,
        int? steps = null, Action<StepMetrics>? onStep = null, VqVaeConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Run(optimizer, model, optimizer.Init(model), batches, steps, onStep, config);
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
