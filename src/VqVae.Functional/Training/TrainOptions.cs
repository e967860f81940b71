using VqVae.Functional.Optim;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>
/// The hooks and settings of <see cref="Trainer.Run(IOptimizer, VqVaeModel, OptimizerState{VqVaeModel}, IEnumerable{Tensor}, TrainOptions)"/>:
/// how many steps, what to report after each step, when to evaluate, and how to stop early.
/// Every hook runs on the training thread between two steps, so it sees a consistent model.
/// </summary>
/// <example><code>
/// var options = new TrainOptions
/// {
///     Steps = 600,
///     UsageWindow = 128,
///     OnStep = r => Console.WriteLine(r.Metrics),
///     EvaluateEvery = 100,
///     OnEvaluate = s => Console.WriteLine($"step {s.Step}: {Evaluate(s.Model)}"),
///     Cancellation = cts.Token,
/// };
/// var run = Trainer.Run(Adam.Create(1e-3f), model, adam.Init(model), batches, options);
/// </code></example>
public sealed record TrainOptions
{
    /// <summary>Steps to run (null: one per batch of the sequence). With a count, the batches are cycled when the sequence is shorter.</summary>
    public int? Steps { get; init; }

    /// <summary>Steps over which <see cref="StepReport.Window"/> counts code usage, dead codes are found and collapse is judged (0: the whole run so far).</summary>
    public int UsageWindow { get; init; } = 100;

    /// <summary>Dead-code expiry (on by default: <see cref="DeadCodePolicy.Default"/>); null turns it off.</summary>
    public DeadCodePolicy? DeadCodes { get; init; } = DeadCodePolicy.Default;

    /// <summary>Stops a diverging run (on by default: <see cref="DivergenceGuard.Default"/>); null turns it off.</summary>
    public DivergenceGuard? Divergence { get; init; } = DivergenceGuard.Default;

    /// <summary>Told once per kind when the codebook collapses or the output saturates (also in <see cref="TrainResult.Warnings"/>).</summary>
    public Action<TrainWarning>? OnWarning { get; init; }

    /// <summary>
    /// Call <see cref="OnCheckpoint"/> after every step whose optimizer step count is a multiple of this (0: only at the end);
    /// it is always called after the last step, and after the last step done when the run is cancelled.
    /// </summary>
    public int CheckpointEvery { get; init; }

    /// <summary>The checkpoint callback (e.g. writing the model and optimizer state): the model and optimizer state after a step.</summary>
    public Action<TrainSnapshot>? OnCheckpoint { get; init; }

    /// <summary>
    /// The usage window to continue from (a resumed run: <see cref="TrainSnapshot.Window"/> of the step it
    /// resumes), oldest step first; null starts an empty window. Each row holds one step's count per code.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<long>>? Window { get; init; }

    /// <summary>The key of the trainer's random choices (the encoder outputs dead codes move to).</summary>
    public Rng Rng { get; init; } = Rng.Seed(0);

    /// <summary>Called after every step with its metrics, its wall time and the usage over the window (progress lines, metrics rows).</summary>
    public Action<StepReport>? OnStep { get; init; }

    /// <summary>Call <see cref="OnEvaluate"/> after every step whose optimizer step count is a multiple of this (0: never; the last step is always included when it is set).</summary>
    public int EvaluateEvery { get; init; }

    /// <summary>The evaluation callback (held-out figures, pictures): the model and optimizer state after a step.</summary>
    public Action<TrainSnapshot>? OnEvaluate { get; init; }

    /// <summary>Checked before each step: when cancelled, the run stops after the current step with <see cref="TrainOutcome.Cancelled"/>.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Throws naming the first bad setting.</summary>
    public TrainOptions Validate()
    {
        if (Steps < 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"trainer: Steps must be ≥ 0, got {Steps}.");
        if (UsageWindow < 0) throw new ArgumentOutOfRangeException(nameof(UsageWindow), UsageWindow, $"trainer: UsageWindow must be ≥ 0 (0 = whole run), got {UsageWindow}.");
        if (CheckpointEvery < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, $"trainer: CheckpointEvery must be ≥ 0 (0 = only at the end), got {CheckpointEvery}.");
        DeadCodes?.Validate();
        Divergence?.Validate();
        if (EvaluateEvery < 0) throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), EvaluateEvery, $"trainer: EvaluateEvery must be ≥ 0 (0 = never), got {EvaluateEvery}.");
        return this;
    }
}

/// <summary>The model and optimizer state between two steps (for evaluation and checkpoint hooks).</summary>
/// <param name="Step">The optimizer's step count: updates applied so far, across resumed runs.</param>
/// <param name="Model">The model after that step.</param>
/// <param name="State">The optimizer state after that step.</param>
public sealed record TrainSnapshot(int Step, VqVaeModel Model, OptimizerState<VqVaeModel> State)
{
    /// <summary>
    /// The trainer's usage window after that step, oldest step first, one row of per-code counts per step
    /// (with <see cref="TrainOptions.UsageWindow"/> 0, one row: the sums). Pass it back as
    /// <see cref="TrainOptions.Window"/> to resume exactly.
    /// </summary>
    public System.Collections.Immutable.ImmutableArray<System.Collections.Immutable.ImmutableArray<long>> Window { get; init; } = [];
}

/// <summary>How a run of training steps ended.</summary>
public enum TrainOutcome
{
    /// <summary>Every step that was asked for ran.</summary>
    Completed,
    /// <summary><see cref="TrainOptions.Cancellation"/> stopped it after a step.</summary>
    Cancelled,
    /// <summary>A loss term became non-finite or exploded (<see cref="TrainResult.Divergence"/> says which); the model is the last sane one.</summary>
    Diverged,
}
