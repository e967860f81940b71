namespace VqVae.Tensors;

/// <summary>Functions over parameter trees: leaves, map, zip (optax-style optimizers map over these).</summary>
public static class Tree
{
    /// <summary>The named leaves in their fixed order.</summary>
    public static IReadOnlyList<TreeLeaf> Leaves<T>(T tree) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(tree);
        var w = new TreeWriter();
        tree.Flatten(w);
        return w.Leaves;
    }

    /// <summary>A tree shaped like <paramref name="template"/> with the given leaves (in order).</summary>
    public static T FromLeaves<T>(T template, IReadOnlyList<Tensor?> leaves) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(template); ArgumentNullException.ThrowIfNull(leaves);
        var n = Leaves(template).Count;
        if (leaves.Count != n) throw new ArgumentException($"tree: expected {n} leaves for {typeof(T).Name}, got {leaves.Count}.", nameof(leaves));
        var r = new TreeReader(leaves);
        var t = template.Unflatten(r);
        r.CheckAllUsed();
        return t;
    }

    /// <summary>Applies <paramref name="f"/> to every non-null leaf; null leaves stay null.</summary>
    public static T Map<T>(T tree, Func<Tensor, Tensor?> f) where T : IParameterTree<T> =>
        FromLeaves(tree, Leaves(tree).Select(l => l.Value is null ? null : f(l.Value)).ToArray());

    /// <summary>Combines two trees of one shape leaf by leaf; <paramref name="f"/> sees the second tree's leaf as null where it is missing.</summary>
    public static T Map2<T>(T a, T b, Func<Tensor, Tensor?, Tensor?> f) where T : IParameterTree<T>
    {
        var la = Leaves(a); var lb = Leaves(b);
        if (la.Count != lb.Count) throw new ArgumentException($"tree: the trees differ in size ({la.Count} vs {lb.Count} leaves).", nameof(b));
        return FromLeaves(a, la.Select((l, i) => l.Value is null ? null : f(l.Value, lb[i].Value)).ToArray());
    }

    /// <summary>
    /// The tree with every leaf (parameters and buffers) on <paramref name="backend"/>; leaves already
    /// there are kept as they are. Use it to put a model, an optimizer state or a gradient tree on a backend.
    /// </summary>
    /// <example><code>var onTorch = Tree.To(model, Backend.Get("torch"));</code></example>
    public static T To<T>(T tree, Backend backend) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Map(tree, t => t.To(backend));
    }

    /// <summary>√(Σ ‖leaf‖²) over the non-null leaves (for gradient clipping), in double.</summary>
    public static double GlobalNorm<T>(T tree) where T : IParameterTree<T>
    {
        double s = 0;
        foreach (var l in Leaves(tree))
            if (l.Value is not null) s += l.Value.Raw.SumOfSquares();
        return Math.Sqrt(s);
    }
}
