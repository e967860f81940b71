using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// An optimizer's state over a parameter tree of type <typeparamref name="T"/>: how many updates
/// were applied, how many of them touched each leaf, and the moment trees (same type as the
/// parameters; SGD keeps one momentum buffer, Adam keeps the first and second moments).
/// Immutable: <see cref="IOptimizer.Update{T}"/> returns a new state.
/// </summary>
/// <param name="Step">Number of <c>Update</c> calls so far.</param>
/// <param name="LeafSteps">Per leaf (in <see cref="Tree.Leaves{T}"/> order), how many updates had a gradient for it.
/// A leaf without a gradient keeps its count and its moments, as PyTorch skips a parameter whose <c>grad</c> is None.</param>
/// <param name="Moments">The moment trees; see each optimizer for their meaning and order.</param>
public sealed record OptimizerState<T>(int Step, ImmutableArray<int> LeafSteps, ImmutableArray<T> Moments)
    where T : IParameterTree<T>
{
    /// <summary>Zero counts and <paramref name="moments"/> zero-filled trees shaped like <paramref name="parameters"/>.</summary>
    internal static OptimizerState<T> Zeros(T parameters, int moments)
    {
        var leaves = Tree.Leaves(parameters);
        var zero = Tree.Map(parameters, Tensor.ZerosLike);
        return new(0, ImmutableArray.CreateRange(Enumerable.Repeat(0, leaves.Count)), ImmutableArray.CreateRange(Enumerable.Repeat(zero, moments)));
    }
}
