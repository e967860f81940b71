using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// A pure optimizer over parameter trees (optax style): <see cref="Init{T}"/> makes the state,
/// <see cref="Update{T}"/> maps (gradients, state, parameters) to new parameters and state.
/// Nothing is mutated; a leaf whose gradient is null is returned unchanged with its state untouched.
/// </summary>
/// <example><code>
/// IOptimizer opt = Adam.Create(1e-3f);
/// var state = opt.Init(model);
/// var (loss, grads) = Grad.ValueAndGrad(m => Loss(m, batch), model);
/// (model, state) = opt.Update(grads, state, model);
/// </code></example>
public interface IOptimizer
{
    /// <summary>The state before the first update, shaped like <paramref name="parameters"/>.</summary>
    OptimizerState<T> Init<T>(T parameters) where T : IParameterTree<T>;

    /// <summary>One update: new parameters and state. <paramref name="gradients"/> has null leaves where no gradient reaches.</summary>
    (T Parameters, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T parameters) where T : IParameterTree<T>;
}
