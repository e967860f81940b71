using System.Collections.Immutable;
using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// An optimizer's state over a parameter tree of type <typeparamref name="T"/>: how many updates were
/// applied and how many of them touched each leaf; each optimizer adds its named buffers
/// (<see cref="AdamState{T}"/>: <c>M</c>, <c>V</c>; <see cref="SgdState{T}"/>: <c>MomentumBuffer</c>).
/// Immutable: <see cref="IOptimizer.Update{T}"/> returns a new state. A state is itself a parameter
/// tree whose leaves carry PyTorch's per-parameter state names (<c>encoder.0.weight.exp_avg</c>,
/// <c>….exp_avg_sq</c>, <c>….momentum_buffer</c>, <c>….step</c>) and a scalar <c>step</c>, so
/// <see cref="Tree.Leaves{T}"/> gives what a checkpoint saves and <see cref="Tree.FromLeaves{T}"/>
/// (on a state from <c>Init</c>) restores it.
/// </summary>
/// <param name="Step">Number of <c>Update</c> calls so far.</param>
/// <param name="LeafSteps">Per leaf (in <see cref="Tree.Leaves{T}"/> order), how many updates had a gradient for it.
/// A leaf without a gradient keeps its count and its buffers, as PyTorch skips a parameter whose <c>grad</c> is None.</param>
public abstract record OptimizerState<T>(int Step, ImmutableArray<int> LeafSteps) : IParameterTree<OptimizerState<T>>
    where T : IParameterTree<T>
{
    /// <summary>Leaf name of the update count.</summary>
    public const string StepName = "step";

    /// <inheritdoc/>
    public abstract void Flatten(TreeWriter writer);

    /// <inheritdoc/>
    public abstract OptimizerState<T> Unflatten(TreeReader reader);

    /// <summary>Zero counts for the leaves of <paramref name="parameters"/>.</summary>
    internal static ImmutableArray<int> ZeroSteps(T parameters) =>
        ImmutableArray.CreateRange(Enumerable.Repeat(0, Tree.Leaves(parameters).Count));

    /// <summary>A count as a PyTorch-style scalar tensor (PyTorch keeps Adam's <c>step</c> as a float32 tensor; exact below 2²⁴).</summary>
    internal static Tensor CountLeaf(int n) => Tensor.Scalar(n);

    /// <summary>A count read back from a scalar leaf: one element, a whole number ≥ 0.</summary>
    internal static int ReadCount(TreeReader reader, string name)
    {
        var t = reader.Leaf();
        if (t.Length != 1) throw new ArgumentException($"optimizer state: '{name}' must be a scalar count, got shape [{string.Join(",", t.Shape)}].", nameof(reader));
        float v = t.ToScalar();
        if (!(v >= 0f && v <= 16_777_216f) || v != MathF.Floor(v))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"optimizer state: '{name}' must be a whole number in [0, 2^24], got {v}."), nameof(reader));
        return (int)v;
    }

    /// <summary>A buffer leaf read back, checked against the shape of the template's buffer.</summary>
    internal static Tensor ReadBuffer(TreeReader reader, string name, Tensor template)
    {
        var t = reader.Leaf();
        if (!t.Shape.AsSpan().SequenceEqual(template.Shape))
            throw new ArgumentException($"optimizer state: '{name}' must have shape [{string.Join(",", template.Shape)}], got [{string.Join(",", t.Shape)}].", nameof(reader));
        return t;
    }
}
