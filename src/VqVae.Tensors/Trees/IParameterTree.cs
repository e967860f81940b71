namespace VqVae.Tensors;

/// <summary>
/// A record of tensors that <see cref="Grad"/> and the optimizers can walk: a model, a layer, an
/// optimizer state. Leaves are visited in a fixed order with dotted names (PyTorch state_dict
/// names for models), and a tree of the same type can be rebuilt from a list of leaves.
/// Every leaf is a tensor; gradients, where a leaf may have none, are a <see cref="Gradients{T}"/>.
/// </summary>
/// <example><code>
/// public sealed record Linear(Tensor Weight, Tensor Bias) : IParameterTree&lt;Linear&gt;
/// {
///     public void Flatten(TreeWriter w) { w.Leaf("weight", Weight); w.Leaf("bias", Bias); }
///     public Linear Unflatten(TreeReader r) => new(r.Leaf(), r.Leaf());
/// }
/// </code></example>
public interface IParameterTree<TSelf> where TSelf : IParameterTree<TSelf>
{
    /// <summary>Writes the leaves in their fixed order.</summary>
    void Flatten(TreeWriter writer);
    /// <summary>A tree of this shape with the next leaves from <paramref name="reader"/>, in Flatten's order.</summary>
    TSelf Unflatten(TreeReader reader);
}

/// <summary>A named leaf of a parameter tree.</summary>
public readonly record struct TreeLeaf(string Name, Tensor Value);

/// <summary>Collects a tree's leaves with dotted names.</summary>
public sealed class TreeWriter
{
    private readonly List<TreeLeaf> leaves = [];
    private string prefix = "";

    /// <summary>The leaves written so far.</summary>
    public IReadOnlyList<TreeLeaf> Leaves => leaves;

    /// <summary>Writes one leaf.</summary>
    public void Leaf(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(name);
        leaves.Add(new(prefix + name, value ?? throw new ArgumentNullException(nameof(value), $"tree: leaf '{prefix + name}' is null.")));
    }

    /// <summary>Writes a sub-tree under <c>name.</c>.</summary>
    public void Child(string name, Action<TreeWriter> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var saved = prefix;
        prefix = saved + name + ".";
        try { body(this); } finally { prefix = saved; }
    }

    /// <summary>Writes a typed sub-tree under <c>name.</c>.</summary>
    public void Child<T>(string name, T child) where T : IParameterTree<T> => Child(name, child.Flatten);
}

/// <summary>Hands out leaves, in order, to <see cref="IParameterTree{TSelf}.Unflatten"/>.</summary>
public sealed class TreeReader(IReadOnlyList<Tensor> leaves)
{
    private int next;

    /// <summary>The next leaf.</summary>
    public Tensor Leaf() => next < leaves.Count ? leaves[next++]
        : throw new InvalidOperationException($"tree: asked for leaf {next + 1} but only {leaves.Count} were given.");

    /// <summary>The next typed sub-tree, shaped like <paramref name="template"/>.</summary>
    public T Child<T>(T template) where T : IParameterTree<T> => template.Unflatten(this);

    internal void CheckAllUsed()
    {
        if (next != leaves.Count) throw new InvalidOperationException($"tree: {leaves.Count} leaves were given but the tree used {next}.");
    }
}
