using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// SGD's state: the update count, per-leaf counts, and the momentum buffers (null when the optimizer
/// has no momentum). As a tree its leaves are <c>step</c>, then per parameter
/// <c>NAME.momentum_buffer</c> (PyTorch's name; only with momentum) and <c>NAME.step</c>.
/// </summary>
/// <param name="Step">Number of <c>Update</c> calls so far.</param>
/// <param name="LeafSteps">Per leaf, how many updates had a gradient for it (0: its buffer is not started yet).</param>
/// <param name="MomentumBuffer">The momentum buffers, shaped like the parameters; null for plain SGD.
/// A leaf's buffer means nothing until its first update (PyTorch starts it as a copy of the first step).</param>
public sealed record SgdState<T>(int Step, ImmutableArray<int> LeafSteps, T? MomentumBuffer)
    : OptimizerState<T>(Step, LeafSteps), IParameterTree<SgdState<T>>
    where T : IParameterTree<T>
{
    /// <summary>Suffix of the momentum-buffer leaves.</summary>
    public const string BufferName = "momentum_buffer";

    /// <summary>The parameter leaf names the counts belong to (set by <see cref="Sgd.Init{T}"/>; without
    /// momentum there is no buffer tree to take them from). Empty: the leaves are named by position.</summary>
    public ImmutableArray<string> LeafNames { get; init; } = [];

    private string NameOf(int i) => i < LeafNames.Length ? LeafNames[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Leaf(StepName, CountLeaf(Step));
        var bs = MomentumBuffer is null ? null : Tree.Leaves(MomentumBuffer);
        for (int i = 0; i < LeafSteps.Length; i++)
        {
            if (bs is not null) writer.Leaf($"{NameOf(i)}.{BufferName}", bs[i].Value);
            writer.Leaf($"{NameOf(i)}.{StepName}", CountLeaf(LeafSteps[i]));
        }
    }

    /// <inheritdoc/>
    public override SgdState<T> Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int step = ReadCount(reader, StepName);
        var bs = MomentumBuffer is null ? null : Tree.Leaves(MomentumBuffer);
        var (b, steps) = (new Tensor[bs?.Count ?? 0], new int[LeafSteps.Length]);
        for (int i = 0; i < LeafSteps.Length; i++)
        {
            if (bs is not null) b[i] = ReadBuffer(reader, $"{NameOf(i)}.{BufferName}", bs[i].Value);
            steps[i] = ReadCount(reader, $"{NameOf(i)}.{StepName}");
        }
        return this with { Step = step, LeafSteps = [.. steps], MomentumBuffer = MomentumBuffer is null ? MomentumBuffer : Tree.FromLeaves(MomentumBuffer, b) };
    }
}
