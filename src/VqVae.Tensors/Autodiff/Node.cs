namespace VqVae.Tensors;

/// <summary>
/// A recorded operation on the tape: its inputs and the rule that turns the output's adjoint
/// into the inputs' adjoints (null for an input that is not tracked). Leaves have no parents.
/// Backward rules are written with <see cref="Tensor"/> ops, so running them with recording on
/// would give gradients of gradients later; today they run with recording off.
/// </summary>
internal sealed class Node(string op, Tensor[] parents, Func<Tensor, Tensor?[]>? backward)
{
    internal readonly string Op = op;
    internal readonly Tensor[] Parents = parents;
    internal readonly Func<Tensor, Tensor?[]>? Backward = backward;

    // Stryker disable once String : equivalent, an op's name is read only when its backward rule runs (profiler, shape error), and a leaf has none
    internal static Node Leaf() => new("leaf", [], null);
}

/// <summary>Turns recording off on this thread while in scope (inference, backward rules).</summary>
public readonly struct NoGradScope : IDisposable
{
    [ThreadStatic] private static int depth;

    /// <summary>True while some scope on this thread has recording off.</summary>
    public static bool Active => depth > 0;

    /// <summary>Starts a scope; dispose it to end.</summary>
    public static NoGradScope Begin() { depth++; return default; }

    /// <inheritdoc/>
    public void Dispose() => depth--;
}
