using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics (<c>torch.optim.SGD</c>):
/// <c>d = g + wd·p</c>; with momentum μ the buffer starts as the first d, then
/// <c>b ← μ·b + (1−dampening)·d</c>; the step is <c>d + μ·b</c> (Nesterov) or <c>b</c>;
/// <c>p ← p − lr·step</c>. The state is an <see cref="SgdState{T}"/> (momentum buffers only when μ ≠ 0).
/// </summary>
/// <example><code>
/// var sgd = Sgd.Create(0.1f, momentum: 0.9f, nesterov: true);
/// var (model2, state2) = sgd.Update(grads, sgd.Init(model), model);
/// </code></example>
public sealed record Sgd : IOptimizer
{
    /// <summary>Step size.</summary>
    public float LearningRate { get; }
    /// <summary>Momentum factor μ (0 = plain SGD).</summary>
    public float Momentum { get; }
    /// <summary>Dampening of the gradient's share in the momentum buffer.</summary>
    public float Dampening { get; }
    /// <summary>Nesterov momentum (needs μ &gt; 0 and no dampening, as in PyTorch).</summary>
    public bool Nesterov { get; }
    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>SGD with the given hyperparameters.</summary>
    public Sgd(float learningRate, float momentum = 0f, float dampening = 0f, bool nesterov = false, float weightDecay = 0f)
    {
        Check.NonNegative("sgd", nameof(learningRate), learningRate);
        Check.NonNegative("sgd", nameof(momentum), momentum);
        Check.NonNegative("sgd", nameof(weightDecay), weightDecay);
        if (!float.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "sgd: dampening must be finite.");
        if (nesterov && (momentum <= 0f || dampening != 0f))
            throw new ArgumentException($"sgd: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum {momentum}, dampening {dampening}.", nameof(nesterov));
        (LearningRate, Momentum, Dampening, Nesterov, WeightDecay) = (learningRate, momentum, dampening, nesterov, weightDecay);
    }

    /// <summary>SGD with the given hyperparameters. F#: <c>Sgd.Create(0.1f, momentum = 0.9f)</c>.</summary>
    public static Sgd Create(float learningRate, float momentum = 0f, float dampening = 0f, bool nesterov = false, float weightDecay = 0f) =>
        new(learningRate, momentum, dampening, nesterov, weightDecay);

    /// <summary>The state before the first update: zero counts, and with momentum zero buffers shaped like <paramref name="parameters"/>.</summary>
    public SgdState<T> Init<T>(T parameters) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var buffer = Momentum != 0f ? Tree.Map(parameters, Tensor.ZerosLike) : default;
        return new(0, OptimizerState<T>.ZeroSteps(parameters), buffer) { LeafNames = [.. Tree.Names(parameters)] };
    }

    /// <summary>One update: new parameters and state. A leaf without a gradient keeps its value, buffer and count.</summary>
    public (T Parameters, SgdState<T> State) Update<T>(Gradients<T> gradients, SgdState<T> state, T parameters) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(state);
        if ((state.MomentumBuffer is not null) != (Momentum != 0f))
            throw new ArgumentException($"sgd: momentum is {Momentum} but the state {(state.MomentumBuffer is null ? "has no" : "has a")} momentum buffer (made by another optimizer?).", nameof(state));
        T[] buffers = state.MomentumBuffer is { } b ? [b] : [];
        var r = LeafUpdate.Apply("sgd", gradients, state.LeafSteps, buffers, parameters, Rule);
        return (r.Parameters, state with { Step = state.Step + 1, LeafSteps = r.LeafSteps, MomentumBuffer = r.Buffers.Length > 0 ? r.Buffers[0] : state.MomentumBuffer });
    }

    OptimizerState<T> IOptimizer.Init<T>(T parameters) => Init(parameters);

    (T Parameters, OptimizerState<T> State) IOptimizer.Update<T>(Gradients<T> gradients, OptimizerState<T> state, T parameters) =>
        Update(gradients, state as SgdState<T> ?? throw new ArgumentException(
            $"sgd: expected an SgdState, got {state?.GetType().Name ?? "null"} (made by another optimizer?).", nameof(state)), parameters);

    private (Tensor, Tensor[]) Rule(Tensor p, Tensor g, Tensor[] buf, int leafStep)
    {
        // Stryker disable once Conditional : always adding p·0 is equivalent for finite parameters (g + 0 = g; only the sign of a zero could differ)
        var d = WeightDecay != 0f ? g + p * WeightDecay : g;
        if (Momentum == 0f) return (p - d * LearningRate, []);
        // PyTorch starts the buffer as a copy of the first d (not from zero).
        var b = leafStep == 0 ? d : buf[0] * Momentum + d * (1f - Dampening);
        var step = Nesterov ? d + b * Momentum : b;
        return (p - step * LearningRate, [b]);
    }
}
