using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// Gradient clipping by global norm, as <c>torch.nn.utils.clip_grad_norm_</c> (L2) but pure:
/// the norm is taken over all present gradients together; when it exceeds <see cref="MaxNorm"/>
/// every gradient is scaled by <c>MaxNorm / (norm + 1e-6)</c>. Missing gradients stay missing.
/// </summary>
/// <example><code>
/// var (clipped, norm) = new ClipByGlobalNorm(1f).Apply(grads);
/// </code></example>
public sealed record ClipByGlobalNorm
{
    /// <summary>The largest global norm let through.</summary>
    public float MaxNorm { get; }

    /// <summary>A clip to <paramref name="maxNorm"/> (&gt; 0).</summary>
    public ClipByGlobalNorm(float maxNorm)
    {
        if (!(maxNorm > 0f) || float.IsInfinity(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"clipByGlobalNorm: maxNorm must be finite and > 0, got {maxNorm}.");
        MaxNorm = maxNorm;
    }

    /// <summary>A clip to <paramref name="maxNorm"/>.</summary>
    public static ClipByGlobalNorm Create(float maxNorm) => new(maxNorm);

    /// <summary>The clipped gradients and the global norm before clipping.</summary>
    public (Gradients<T> Gradients, double Norm) Apply<T>(Gradients<T> gradients) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        double norm = gradients.GlobalNorm();
        // Same coefficient as PyTorch; below the threshold the gradients are returned as they are.
        double coef = MaxNorm / (norm + 1e-6);
        // Stryker disable once Equality : > is equivalent, at coef = 1 exactly the scaled gradients equal the given ones value for value
        if (coef >= 1.0) return (gradients, norm);
        using var _ = NoGradScope.Begin();
        return (gradients.Map(g => g * (float)coef), norm);
    }
}

/// <summary>An optimizer that first clips the gradients by global norm, then applies <see cref="Inner"/>.</summary>
/// <example><code>IOptimizer opt = new Clipped(Adam.Create(1e-3f), new ClipByGlobalNorm(1f));</code></example>
public sealed record Clipped(IOptimizer Inner, ClipByGlobalNorm Clip) : IOptimizer
{
    /// <inheritdoc/>
    public OptimizerState<T> Init<T>(T parameters) where T : IParameterTree<T> => Inner.Init(parameters);

    /// <inheritdoc/>
    public (T Parameters, OptimizerState<T> State) Update<T>(Gradients<T> gradients, OptimizerState<T> state, T parameters) where T : IParameterTree<T> =>
        Inner.Update(Clip.Apply(gradients).Gradients, state, parameters);
}
