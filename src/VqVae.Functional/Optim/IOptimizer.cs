using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// A pure optimizer over parameter trees (optax style): <see cref="Init{T}"/> makes the state,
/// <see cref="Update{T}"/> maps (gradients, state, parameters) to new parameters and state.
/// Nothing is mutated; a leaf without a gradient is returned unchanged with its state untouched.
/// Each optimizer also has typed <c>Init</c>/<c>Update</c> returning its own state record
/// (<see cref="AdamState{T}"/>, <see cref="SgdState{T}"/>).
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

    /// <summary>One update: new parameters and state. <paramref name="gradients"/> may miss leaves (no gradient reaches them).</summary>
    (T Parameters, OptimizerState<T> State) Update<T>(Gradients<T> gradients, OptimizerState<T> state, T parameters) where T : IParameterTree<T>;
}
