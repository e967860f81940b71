using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>The shared walk of the optimizers: checks the trees agree, then updates leaf by leaf.</summary>
internal static class LeafUpdate
{
    /// <summary>One leaf's update: parameter, gradient, its buffers and how many updates it had before; returns the new parameter and buffers.</summary>
    internal delegate (Tensor Param, Tensor[] Buffers) Rule(Tensor param, Tensor grad, Tensor[] buffers, int leafStep);

    /// <summary>The result of one walk: new parameters, per-leaf counts and buffer trees (same order as given).</summary>
    internal readonly record struct Result<T>(T Parameters, ImmutableArray<int> LeafSteps, T[] Buffers);

    internal static Result<T> Apply<T>(string who, Gradients<T> gradients, ImmutableArray<int> leafSteps, T[] buffers, T parameters, Rule rule)
        where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(gradients); ArgumentNullException.ThrowIfNull(parameters);
        var ps = Tree.Leaves(parameters);
        var bs = buffers.Select(Tree.Leaves).ToArray();
        if (gradients.Count != ps.Count) throw new ArgumentException($"{who}: the gradients have {gradients.Count} leaves, the parameters {ps.Count}.", nameof(gradients));
        for (int i = 0; i < ps.Count; i++)
            if (gradients[i].Name != ps[i].Name)
                throw new ArgumentException($"{who}: gradient leaf {i} is '{gradients[i].Name}', the parameter '{ps[i].Name}' (gradients of another tree?).", nameof(gradients));
        if (leafSteps.Length != ps.Count || bs.Any(b => b.Count != ps.Count))
            throw new ArgumentException($"{who}: the state was made for a tree of {leafSteps.Length} leaves, the parameters have {ps.Count}; call Init on these parameters.", "state");

        var newP = new Tensor[ps.Count];
        var newB = bs.Select(_ => new Tensor[ps.Count]).ToArray();
        var steps = leafSteps.ToBuilder();
        using (NoGradScope.Begin())
        {
            for (int i = 0; i < ps.Count; i++)
            {
                var p = ps[i].Value;
                var own = bs.Select(b => b[i].Value).ToArray();
                if (gradients[i].Gradient is not { } g)
                {
                    // PyTorch skips a parameter whose grad is None: no decay, no buffer update, no step.
                    newP[i] = p;
                    for (int k = 0; k < own.Length; k++) newB[k][i] = own[k];
                    continue;
                }
                if (!g.Shape.SequenceEqual(p.Shape))
                    throw new ArgumentException($"{who}: gradient of '{ps[i].Name}' has shape [{string.Join(",", g.Shape)}], the parameter [{string.Join(",", p.Shape)}].", nameof(gradients));
                var (np, nb) = rule(p, g.NoDiff(), own, leafSteps[i]);
                newP[i] = np;
                for (int k = 0; k < nb.Length; k++) newB[k][i] = nb[k];
                steps[i] = leafSteps[i] + 1;
            }
        }
        var trees = newB.Select((b, k) => Tree.FromLeaves(buffers[k], b)).ToArray();
        return new(Tree.FromLeaves(parameters, newP), steps.ToImmutable(), trees);
    }
}
