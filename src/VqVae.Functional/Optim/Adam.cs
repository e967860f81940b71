using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// Adam with PyTorch's semantics (<c>torch.optim.Adam</c>, not AdamW): weight decay is added to the
/// gradient; the moments are bias-corrected per leaf by how many updates that leaf has had; ε is
/// added after the square root of the corrected second moment:
/// <c>p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)</c>.
/// The state is an <see cref="AdamState{T}"/>: first moment <c>M</c>, second moment <c>V</c>.
/// </summary>
/// <example><code>
/// var adam = Adam.Create(1e-3f);
/// var state = adam.Init(model);
/// var (model2, state2) = adam.Update(grads, state, model);
/// </code></example>
public sealed record Adam : IOptimizer
{
    /// <summary>Step size.</summary>
    public float LearningRate { get; }
    /// <summary>Decay of the first moment.</summary>
    public float Beta1 { get; }
    /// <summary>Decay of the second moment.</summary>
    public float Beta2 { get; }
    /// <summary>Added to the denominator after the square root.</summary>
    public float Epsilon { get; }
    /// <summary>L2 penalty added to the gradient (<c>g + wd·p</c>).</summary>
    public float WeightDecay { get; }

    /// <summary>Adam with the given hyperparameters (PyTorch's defaults).</summary>
    public Adam(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
    {
        Check.NonNegative("adam", nameof(learningRate), learningRate);
        Check.InUnit("adam", nameof(beta1), beta1);
        Check.InUnit("adam", nameof(beta2), beta2);
        Check.NonNegative("adam", nameof(epsilon), epsilon);
        Check.NonNegative("adam", nameof(weightDecay), weightDecay);
        (LearningRate, Beta1, Beta2, Epsilon, WeightDecay) = (learningRate, beta1, beta2, epsilon, weightDecay);
    }

    /// <summary>Adam with the given hyperparameters (PyTorch's defaults). F#: <c>Adam.Create 1e-3f</c>.</summary>
    public static Adam Create(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f) =>
        new(learningRate, beta1, beta2, epsilon, weightDecay);

    /// <summary>The state before the first update: zero moments shaped like <paramref name="parameters"/>, zero counts.</summary>
    public AdamState<T> Init<T>(T parameters) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return new(0, OptimizerState<T>.ZeroSteps(parameters), Tree.Map(parameters, Tensor.ZerosLike), Tree.Map(parameters, Tensor.ZerosLike));
    }

    /// <summary>One update: new parameters and state. A leaf without a gradient keeps its value, moments and count.</summary>
    public (T Parameters, AdamState<T> State) Update<T>(Gradients<T> gradients, AdamState<T> state, T parameters) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(state);
        var r = LeafUpdate.Apply("adam", gradients, state.LeafSteps, [state.M, state.V], parameters, Rule);
        return (r.Parameters, new AdamState<T>(state.Step + 1, r.LeafSteps, r.Buffers[0], r.Buffers[1]));
    }

    OptimizerState<T> IOptimizer.Init<T>(T parameters) => Init(parameters);

    (T Parameters, OptimizerState<T> State) IOptimizer.Update<T>(Gradients<T> gradients, OptimizerState<T> state, T parameters) =>
        Update(gradients, state as AdamState<T> ?? throw new ArgumentException(
            $"adam: expected an AdamState, got {state?.GetType().Name ?? "null"} (made by another optimizer?).", nameof(state)), parameters);

    // One fused pass per leaf (Tensor.AdamUpdate): bitwise the same as the formula written with tensor ops.
    private (Tensor, Tensor[]) Rule(Tensor p, Tensor g, Tensor[] mv, int leafStep)
    {
        var (p2, m, v) = Tensor.AdamUpdate(p, g, mv[0], mv[1], leafStep + 1, LearningRate, Beta1, Beta2, Epsilon, WeightDecay);
        return (p2, [m, v]);
    }
}
