using System.Collections;

namespace VqVae.Tensors;

/// <summary>A named gradient leaf: <see cref="Gradient"/> is null where nothing reaches the parameter.</summary>
/// <param name="Name">The parameter's leaf name (e.g. <c>vq.embedding.weight</c>).</param>
/// <param name="Gradient">The gradient, shaped like the parameter, or null where no gradient reaches it.</param>
public readonly record struct GradientLeaf(string Name, Tensor? Gradient)
{
    /// <summary>Whether a gradient reaches this leaf.</summary>
    public bool Reached => Gradient is not null;
}

/// <summary>
/// The gradients of a scalar function with respect to a parameter tree of type <typeparamref name="T"/>:
/// one entry per leaf of <see cref="Parameters"/>, in the tree's order and under its names, each
/// either a tensor of the leaf's shape or missing (null; F#: None) where the function does not reach
/// the leaf. Missing is not zero: routing checks read it exactly. Immutable.
/// </summary>
/// <example><code>
/// var (loss, grads) = Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Recon, model);
/// Tensor? g = grads["vq.embedding.weight"];           // null: recon does not reach the codebook
/// if (grads.TryGet("encoder.0.weight", out var ge)) Console.WriteLine(ge.Shape[0]);
/// </code></example>
public sealed class Gradients<T> : IReadOnlyList<GradientLeaf> where T : IParameterTree<T>
{
    private readonly GradientLeaf[] leaves;
    private readonly Dictionary<string, int> index;

    /// <summary>Gradients for the leaves of <paramref name="parameters"/>, one (nullable) tensor per leaf in
    /// <see cref="Tree.Leaves{T}"/> order; each present one must have its parameter's shape.</summary>
    public Gradients(T parameters, IReadOnlyList<Tensor?> gradients)
    {
        ArgumentNullException.ThrowIfNull(parameters); ArgumentNullException.ThrowIfNull(gradients);
        var ps = Tree.Leaves(parameters);
        if (gradients.Count != ps.Count)
            throw new ArgumentException($"gradients: {typeof(T).Name} has {ps.Count} leaves, got {gradients.Count} gradients.", nameof(gradients));
        leaves = new GradientLeaf[ps.Count];
        index = new Dictionary<string, int>(ps.Count, StringComparer.Ordinal);
        for (int i = 0; i < ps.Count; i++)
        {
            var g = gradients[i];
            if (g is not null && !g.Shape.AsSpan().SequenceEqual(ps[i].Value.Shape))
                throw new ArgumentException($"gradients: the gradient of '{ps[i].Name}' has shape {ShapeUtil.Format(g.Shape)}, the parameter {ShapeUtil.Format(ps[i].Value.Shape)}.", nameof(gradients));
            leaves[i] = new GradientLeaf(ps[i].Name, g);
            index[ps[i].Name] = i;
        }
        Parameters = parameters;
    }

    /// <summary>The parameters the gradients were taken at (the tree that gives the names and shapes).</summary>
    public T Parameters { get; }

    /// <summary>Number of leaves (reached or not).</summary>
    public int Count => leaves.Length;

    /// <summary>The i-th leaf, in the tree's order.</summary>
    public GradientLeaf this[int i] => leaves[i];

    /// <summary>The gradient of the leaf called <paramref name="name"/>, or null where none reaches it.
    /// A name that is not a leaf is an error listing the leaves.</summary>
    public Tensor? this[string name] => leaves[IndexOf(name)].Gradient;

    /// <summary>The leaf names, in the tree's order.</summary>
    public IEnumerable<string> Names => leaves.Select(l => l.Name);

    /// <summary>Whether <paramref name="name"/> is a leaf that a gradient reaches; false when it is not reached.
    /// A name that is not a leaf is an error.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Tensor? gradient)
    {
        gradient = this[name];
        return gradient is not null;
    }

    /// <summary>Whether the leaf called <paramref name="name"/> gets a gradient.</summary>
    public bool Reaches(string name) => this[name] is not null;

    /// <summary>Applies <paramref name="f"/> to every present gradient; missing ones stay missing.</summary>
    public Gradients<T> Map(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new(Parameters, leaves.Select(l => l.Gradient is null ? null : f(l.Gradient)).ToArray());
    }

    /// <summary>√(Σ ‖g‖²) over the present gradients (for clipping), in double; 0 when none is present.</summary>
    public double GlobalNorm()
    {
        double s = 0;
        foreach (var l in leaves)
            if (l.Gradient is not null) Tree.AddSquares(l.Gradient, ref s);
        return Math.Sqrt(s);
    }

    /// <summary>A tree of type <typeparamref name="T"/> holding the gradients, with zeros where none reaches
    /// (what an optimizer that does not skip would see; loses the reached/not-reached distinction).</summary>
    public T ZerosWhereMissing()
    {
        var ps = Tree.Leaves(Parameters);
        return Tree.FromLeaves(Parameters, leaves.Select((l, i) => l.Gradient ?? Tensor.ZerosLike(ps[i].Value)).ToArray());
    }

    /// <inheritdoc/>
    public IEnumerator<GradientLeaf> GetEnumerator() => ((IEnumerable<GradientLeaf>)leaves).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() =>
        $"Gradients<{typeof(T).Name}>({string.Join(", ", leaves.Select(l => l.Reached ? l.Name : l.Name + ": none"))})";

    private int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return index.TryGetValue(name, out var i) ? i
            : throw new ArgumentException($"gradients: no leaf is called '{name}'; the leaves are {string.Join(", ", leaves.Select(l => l.Name))}.", nameof(name));
    }
}
