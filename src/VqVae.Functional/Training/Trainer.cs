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
        var levels = new SingleLevel(optimizer, model.Codebook.Size, options);
        var r = Loop(levels, model, state, batches, options, onStep: null);
        return new(r.Model, r.State, r.Metrics, levels.All.Current, levels.Window.Current, r.Outcome)
        {
            Divergence = r.Divergence, Warnings = r.Warnings, RestartedCodes = r.RestartedCodes,
        };
    }

    /// <summary>
    /// The single-level loop's windows (the whole run's and the sliding one) and its snapshot hooks: a checkpoint
    /// every <see cref="TrainOptions.CheckpointEvery"/> steps, at the last step and on cancellation; an evaluation
    /// every <see cref="TrainOptions.EvaluateEvery"/> steps and at the last.
    /// </summary>
    private sealed class SingleLevel : ILevels<VqVaeModel, StepMetrics>
    {
        private readonly IOptimizer optimizer;
        private readonly TrainOptions options;
        private Lazy<TrainSnapshot>? latest;
        private int savedStep = -1;

        public SingleLevel(IOptimizer optimizer, int codes, TrainOptions options)
        {
            (this.optimizer, this.options) = (optimizer, options);
            All = new UsageWindow(codes, 0);
            Window = new UsageWindow(codes, options.UsageWindow);
            // A resumed run continues the window it was saved with, so dead codes are judged (and restarted) as if it never stopped.
            if (options.Window is { } saved)
            {
                try { Window.AddRows(saved); }
                catch (ArgumentException e) { throw new ArgumentException($"trainer: Window: {ArgumentMessages.Bare(e)}", nameof(options), e); }
            }
        }

        public UsageWindow All { get; }
        public UsageWindow Window { get; }
        public UsageWindow Watched => Window;

        public (VqVaeModel, OptimizerState<VqVaeModel>, StepMetrics) Step(VqVaeModel model, OptimizerState<VqVaeModel> state, Tensor x) =>
            TrainStep.Apply(optimizer, model, state, x);

        public StepMetrics Combined(StepMetrics m) => m;

        public void Count(StepMetrics m)
        {
            All.Add(m.CodeCounts);
            Window.Add(m.CodeCounts);
        }

        public (VqVaeModel, int) RestartDeadCodes(VqVaeModel model, Tensor x, DeadCodePolicy policy, Rng rng)
        {
            var (restarted, codes) = CodebookOps.DeadCodeRestart(model, CodebookOps.EncoderRows(model, [x]), Window.Current, policy, rng);
            return (restarted, codes.Length);
        }

        public void Stepped(VqVaeModel model, OptimizerState<VqVaeModel> state, bool last)
        {
            var snapshot = new Lazy<TrainSnapshot>(() => new TrainSnapshot(state.Step, model, state) { Window = Window.Rows });
            latest = snapshot; // nothing moves until the next step, which cancellation is checked before
            if (options.OnCheckpoint is { } save && ((options.CheckpointEvery > 0 && state.Step % options.CheckpointEvery == 0) || last))
            {
                save(snapshot.Value);
                savedStep = state.Step;
            }
            if (options.OnEvaluate is { } evaluate && options.EvaluateEvery > 0 && (state.Step % options.EvaluateEvery == 0 || last))
                evaluate(snapshot.Value);
        }

        // A cancelled run's last step is checkpointed too, so nothing done is lost.
        public void Cancelled(OptimizerState<VqVaeModel> state)
        {
            if (options.OnCheckpoint is { } save && latest is { } l && savedStep != state.Step) save(l.Value);
        }
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
        ArgumentNullException.ThrowIfNull(plan);
        // Stryker disable once Statement : equivalent, every phase (pretraining, k-means, then Run) refuses null batches with the same exception and name
        ArgumentNullException.ThrowIfNull(batches);
        // Stryker disable once Statement : equivalent, Run refuses null options with the same exception and name, and nothing before it reads them
        ArgumentNullException.ThrowIfNull(options);
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
}
