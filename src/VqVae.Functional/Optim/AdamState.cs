using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>
/// Adam's state: the update count, per-leaf counts, and the first and second moment trees, shaped
/// like the parameters. As a tree its leaves are named as in PyTorch's <c>Adam.state</c>:
/// <c>step</c>, then per parameter <c>NAME.exp_avg</c> (M), <c>NAME.exp_avg_sq</c> (V) and <c>NAME.step</c>.
/// </summary>
/// <param name="Step">Number of <c>Update</c> calls so far.</param>
/// <param name="LeafSteps">Per leaf, how many updates had a gradient for it (its bias-correction step).</param>
/// <param name="M">First moment (PyTorch <c>exp_avg</c>).</param>
/// <param name="V">Second moment (PyTorch <c>exp_avg_sq</c>).</param>
public sealed record AdamState<T>(int Step, ImmutableArray<int> LeafSteps, T M, T V)
    : OptimizerState<T>(Step, LeafSteps), IParameterTree<AdamState<T>>
    where T : IParameterTree<T>
{
    /// <summary>Suffix of the first-moment leaves.</summary>
    public const string MName = "exp_avg";
    /// <summary>Suffix of the second-moment leaves.</summary>
    public const string VName = "exp_avg_sq";

    /// <inheritdoc/>
    public override void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Leaf(StepName, CountLeaf(Step));
        var ms = Tree.Leaves(M); var vs = Tree.Leaves(V);
        for (int i = 0; i < ms.Count; i++)
        {
            writer.Leaf($"{ms[i].Name}.{MName}", ms[i].Value);
            writer.Leaf($"{ms[i].Name}.{VName}", vs[i].Value);
            writer.Leaf($"{ms[i].Name}.{StepName}", CountLeaf(LeafSteps[i]));
        }
    }

    /// <inheritdoc/>
    public override AdamState<T> Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int step = ReadCount(reader, StepName);
        var ms = Tree.Leaves(M);
        var (m, v, steps) = (new Tensor[ms.Count], new Tensor[ms.Count], new int[ms.Count]);
        for (int i = 0; i < ms.Count; i++)
        {
            m[i] = ReadBuffer(reader, $"{ms[i].Name}.{MName}", ms[i].Value);
            v[i] = ReadBuffer(reader, $"{ms[i].Name}.{VName}", ms[i].Value);
            steps[i] = ReadCount(reader, $"{ms[i].Name}.{StepName}");
        }
        return this with { Step = step, LeafSteps = [.. steps], M = Tree.FromLeaves(M, m), V = Tree.FromLeaves(V, v) };
    }
}
