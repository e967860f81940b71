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

    /// <summary>The leaf names in their fixed order.</summary>
    public static IReadOnlyList<string> Names<T>(T tree) where T : IParameterTree<T> =>
        Leaves(tree).Select(l => l.Name).ToArray();

    /// <summary>A tree shaped like <paramref name="template"/> with the given leaves (in order).</summary>
    public static T FromLeaves<T>(T template, IReadOnlyList<Tensor> leaves) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(template); ArgumentNullException.ThrowIfNull(leaves);
        var names = Leaves(template);
        if (leaves.Count != names.Count) throw new ArgumentException($"tree: expected {names.Count} leaves for {typeof(T).Name}, got {leaves.Count}.", nameof(leaves));
        for (int i = 0; i < leaves.Count; i++)
            if (leaves[i] is null) throw new ArgumentException($"tree: leaf {i} ('{names[i].Name}') of {typeof(T).Name} is null.", nameof(leaves));
        var r = new TreeReader(leaves);
        var t = template.Unflatten(r);
        r.CheckAllUsed();
        return t;
    }

    /// <summary>Applies <paramref name="f"/> to every leaf.</summary>
    public static T Map<T>(T tree, Func<Tensor, Tensor> f) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        return FromLeaves(tree, Leaves(tree).Select(l => f(l.Value)).ToArray());
    }

    /// <summary>Combines two trees of one shape leaf by leaf.</summary>
    public static T Map2<T>(T a, T b, Func<Tensor, Tensor, Tensor> f) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        var la = Leaves(a); var lb = Leaves(b);
        if (la.Count != lb.Count) throw new ArgumentException($"tree: the trees differ in size ({la.Count} vs {lb.Count} leaves).", nameof(b));
        return FromLeaves(a, la.Select((l, i) => f(l.Value, lb[i].Value)).ToArray());
    }

    /// <summary>
    /// The tree with every leaf (parameters and buffers) on <paramref name="backend"/>; leaves already
    /// there are kept as they are. Use it to put a model or an optimizer state on a backend
    /// (gradients: <see cref="Gradients{T}.Map"/>).
    /// </summary>
    /// <example><code>var onTorch = Tree.To(model, Backend.Get("torch"));</code></example>
    public static T To<T>(T tree, Backend backend) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Map(tree, t => t.To(backend));
    }

    /// <summary>√(Σ ‖leaf‖²) over the leaves, in double.</summary>
    public static double GlobalNorm<T>(T tree) where T : IParameterTree<T>
    {
        double s = 0;
        foreach (var l in Leaves(tree)) AddSquares(l.Value, ref s);
        return Math.Sqrt(s);
    }

    /// <summary>Adds Σ v² over a tensor's elements to <paramref name="s"/>, in double, in element order (each backend sums its own storage).</summary>
    internal static void AddSquares(Tensor t, ref double s) => s += t.Raw.SumOfSquares();
}
