using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics (<c>torch.optim.SGD</c>):
/// <c>d = g + wd·p</c>; with momentum μ the buffer starts as the first d, then
/// <c>b ← μ·b + (1−dampening)·d</c>; the step is <c>d + μ·b</c> (Nesterov) or <c>b</c>;
/// <c>p ← p − lr·step</c>. State moments: [0] = momentum buffer (only when μ ≠ 0).
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

    /// <inheritdoc/>
    public OptimizerState<T> Init<T>(T parameters) where T : IParameterTree<T> =>
        OptimizerState<T>.Zeros(parameters, Momentum != 0f ? 1 : 0);

    /// <inheritdoc/>
    public (T Parameters, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T parameters) where T : IParameterTree<T>
    {
        int want = Momentum != 0f ? 1 : 0;
        if (state is not null && state.Moments.Length != want)
            throw new ArgumentException($"sgd: expected a state with {want} moment trees, got {state.Moments.Length} (made by another optimizer?).", nameof(state));
        return LeafUpdate.Apply("sgd", gradients, state!, parameters, Rule);
    }

    private (Tensor, Tensor[]) Rule(Tensor p, Tensor g, Tensor[] buf, int leafStep)
    {
        var d = WeightDecay != 0f ? g + p * WeightDecay : g;
        if (Momentum == 0f) return (p - d * LearningRate, []);
        // PyTorch starts the buffer as a copy of the first d (not from zero).
        var b = leafStep == 0 ? d : buf[0] * Momentum + d * (1f - Dampening);
        var step = Nesterov ? d + b * Momentum : b;
        return (p - step * LearningRate, [b]);
    }
}
