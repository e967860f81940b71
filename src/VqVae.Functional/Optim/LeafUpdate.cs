using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Optim;

/// <summary>The shared walk of the optimizers: checks the trees agree, then updates leaf by leaf.</summary>
internal static class LeafUpdate
{
    /// <summary>One leaf's update: parameter, gradient, its moments and how many updates it had before; returns the new parameter and moments.</summary>
    internal delegate (Tensor Param, Tensor[] Moments) Rule(Tensor param, Tensor grad, Tensor[] moments, int leafStep);

    internal static (T, OptimizerState<T>) Apply<T>(string who, T gradients, OptimizerState<T> state, T parameters, Rule rule)
        where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(gradients); ArgumentNullException.ThrowIfNull(state); ArgumentNullException.ThrowIfNull(parameters);
        var ps = Tree.Leaves(parameters);
        var gs = Tree.Leaves(gradients);
        var ms = state.Moments.Select(Tree.Leaves).ToArray();
        if (gs.Count != ps.Count) throw new ArgumentException($"{who}: the gradient tree has {gs.Count} leaves, the parameters {ps.Count}.", nameof(gradients));
        if (state.LeafSteps.Length != ps.Count || ms.Any(m => m.Count != ps.Count))
            throw new ArgumentException($"{who}: the state was made for a tree of {state.LeafSteps.Length} leaves, the parameters have {ps.Count}; call Init on these parameters.", nameof(state));

        var newP = new Tensor?[ps.Count];
        var newM = ms.Select(_ => new Tensor?[ps.Count]).ToArray();
        var steps = state.LeafSteps.ToBuilder();
        using (NoGradScope.Begin())
        {
            for (int i = 0; i < ps.Count; i++)
            {
                var p = ps[i].Value ?? throw new ArgumentException($"{who}: parameter '{ps[i].Name}' is null.", nameof(parameters));
                var g = gs[i].Value;
                var moments = ms.Select(m => m[i].Value!).ToArray();
                if (g is null)
                {
                    // PyTorch skips a parameter whose grad is None: no decay, no moment update, no step.
                    newP[i] = p;
                    for (int k = 0; k < moments.Length; k++) newM[k][i] = moments[k];
                    continue;
                }
                if (!g.Shape.SequenceEqual(p.Shape))
                    throw new ArgumentException($"{who}: gradient of '{ps[i].Name}' has shape [{string.Join(",", g.Shape)}], the parameter [{string.Join(",", p.Shape)}].", nameof(gradients));
                var (np, nm) = rule(p, g.NoDiff(), moments, state.LeafSteps[i]);
                newP[i] = np;
                for (int k = 0; k < nm.Length; k++) newM[k][i] = nm[k];
                steps[i] = state.LeafSteps[i] + 1;
            }
        }
        var moms = newM.Select((m, k) => Tree.FromLeaves(state.Moments[k], m)).ToImmutableArray();
        return (Tree.FromLeaves(parameters, newP), new OptimizerState<T>(state.Step + 1, steps.ToImmutable(), moms));
    }
}
