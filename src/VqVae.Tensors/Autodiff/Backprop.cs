using VqVae.Tensors.Diagnostics;

namespace VqVae.Tensors;

/// <summary>Reverse-mode sweep: each node once, in reverse topological order, adjoints summed.</summary>
internal static class Backprop
{
    /// <summary>Adjoints of every leaf the output reaches (a leaf it does not reach is absent).</summary>
    internal static Dictionary<Node, Tensor> Run(Tensor output, Tensor seed)
    {
        var adj = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance);
        if (output.Node is null) return adj;
        var order = TopologicalOrder(output.Node);
        adj[output.Node] = seed;
        using var _ = NoGradScope.Begin();
        // Written `i-- > 0` rather than `i = Count - 1; i >= 0`: the mutant `i > 0` of the latter would skip
        // order[0], always a leaf (no rule to run), so it could not be told apart; here every mutant of
        // the condition indexes out of range or runs nothing.
        for (int i = order.Count; i-- > 0;)
        {
            var node = order[i];
            // Two tests, not one `a || !TryGetValue(out var g)`: g is then assigned on every path, so a
            // mutant of either condition still compiles (mutation testing would drop the whole method).
            if (node.Backward is null) continue;
            if (!adj.TryGetValue(node, out var g)) continue;
            // Stryker disable once Statement : equivalent, keeping an interior node's adjoint only costs memory: each node is visited once and the caller reads the leaves' adjoints only
            adj.Remove(node); // intermediate adjoints are not needed once passed on
            var grads = TimedBackward(node, g);
            for (int p = 0; p < node.Parents.Length; p++)
            {
                var parent = node.Parents[p];
                var gp = grads[p];
                if (parent.Node is null || gp is null) continue;
                if (!ShapeUtil.SameShape(gp.Raw.Shape, parent.Raw.Shape))
                    throw new InvalidOperationException($"internal error: backward of '{node.Op}' gave shape {ShapeUtil.Format(gp.Raw.Shape)} for an input of shape {ShapeUtil.Format(parent.Raw.Shape)}.");
                if (adj.TryGetValue(parent.Node, out var acc))
                    using (OpProfiler.TimeBackward("accumulate")) adj[parent.Node] = acc + gp;
                else adj[parent.Node] = gp;
            }
        }
        return adj;
    }

    // One node's backward, timed when profiling; a call, not an assignment inside `using (…)`, so
    // that no mutant can leave the result unassigned.
    private static Tensor?[] TimedBackward(Node node, Tensor g)
    {
        using var _ = OpProfiler.TimeBackward(node.Op);
        return node.Backward!(g);
    }

    // Post-order DFS without recursion (graphs can be deep): parents come before children.
    private static List<Node> TopologicalOrder(Node root)
    {
        var order = new List<Node>();
        // Stryker disable once Initializer : an empty set is equivalent, the root is the output, so no node of its graph has it as a parent to reach it again
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Node Node, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node.Parents.Length)
            {
                stack.Push((node, next + 1));
                var p = node.Parents[next].Node;
                if (p is not null && seen.Add(p)) stack.Push((p, 0));
            }
            else order.Add(node);
        }
        return order;
    }
}
