namespace VqVae.Tensors;

/// <summary>
/// Functional reverse-mode gradients (JAX style): pass a function and the point, get the value
/// and gradients of the same shape as the input. An input the output never reaches gets null
/// (F#: None), not zeros, so routing checks are exact. Over a parameter tree the gradients are a
/// <see cref="Gradients{T}"/>: one optional tensor per named leaf.
/// </summary>
/// <example><code>
/// var (loss, grads) = Grad.ValueAndGrad(m => Loss(m, batch), model);   // grads : Gradients&lt;Model&gt;
/// Tensor? gw = grads["encoder.0.weight"];                              // null where loss does not reach it
/// </code></example>
public static class Grad
{
    /// <summary>Value of a scalar function and its gradient at <paramref name="x"/> (null if x does not reach the output).</summary>
    public static (Tensor Value, Tensor? Gradient) ValueAndGrad(Func<Tensor, Tensor> f, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(f);
        var (v, g) = ValueAndGrad(xs => f(xs[0]), [x]);
        return (v, g[0]);
    }

    /// <summary>Gradient of a scalar function at <paramref name="x"/> (null if x does not reach the output).</summary>
    public static Tensor? Gradient(Func<Tensor, Tensor> f, Tensor x) => ValueAndGrad(f, x).Gradient;

    /// <summary>Value of a scalar function of several tensors and its gradient with respect to each.</summary>
    public static (Tensor Value, Tensor?[] Gradients) ValueAndGrad(Func<Tensor[], Tensor> f, Tensor[] xs)
    {
        ArgumentNullException.ThrowIfNull(f); ArgumentNullException.ThrowIfNull(xs);
        var (v, _, g) = Run(xs, t => (f(t), 0));
        return (v, g);
    }

    /// <summary>Value of a scalar function of a parameter tree and its gradients, leaf by leaf (missing where not reached).</summary>
    public static (Tensor Value, Gradients<T> Gradients) ValueAndGrad<T>(Func<T, Tensor> f, T tree) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        var (v, _, g) = ValueAndGradWithAux(t => (f(t), 0), tree);
        return (v, g);
    }

    /// <summary>Like ValueAndGrad, for a function that also returns auxiliary data (e.g. the named loss terms).</summary>
    public static (Tensor Value, TAux Aux, Gradients<T> Gradients) ValueAndGradWithAux<T, TAux>(Func<T, (Tensor Loss, TAux Aux)> f, T tree) where T : IParameterTree<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        // Stryker disable once Statement : equivalent, Tree.Leaves refuses a null tree with the same ArgumentNullException ("tree") first
        ArgumentNullException.ThrowIfNull(tree);
        var xs = Tree.Leaves(tree).Select(l => l.Value).ToArray();
        var (v, aux, g) = Run(xs, t => f(Tree.FromLeaves(tree, t)));
        return (v, aux, new Gradients<T>(tree, g));
    }

    /// <summary>Which leaves of the tree a scalar function reaches (has a gradient path to), by name.</summary>
    public static IReadOnlyList<(string Name, bool Reached)> Reach<T>(Func<T, Tensor> f, T tree) where T : IParameterTree<T>
    {
        var (_, g) = ValueAndGrad(f, tree);
        return g.Select(l => (l.Name, l.Reached)).ToArray();
    }

    private static (Tensor, TAux, Tensor?[]) Run<TAux>(Tensor[] xs, Func<Tensor[], (Tensor, TAux)> f)
    {
        var tracked = xs.Select((x, i) => (x ?? throw new ArgumentNullException(nameof(xs), $"valueAndGrad: input {i} is null.")).Tracked()).ToArray();
        var (y, aux) = f(tracked);
        if (y is null) throw new InvalidOperationException("valueAndGrad: the function returned null.");
        if (y.Length != 1) throw new InvalidOperationException($"valueAndGrad: the function must return a scalar (one element), got shape {ShapeUtil.Format(y.Raw.Shape)}.");
        var adj = Backprop.Run(y, Tensor.Full(y.Backend, 1f, y.Raw.Shape));
        var grads = tracked.Select(t => adj.TryGetValue(t.Node!, out var g) ? g : null).ToArray();
        return (y.NoDiff(), aux, grads);
    }
}
