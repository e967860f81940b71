using VqVae.Tensors.Backends;

namespace VqVae.Tensors;

/// <summary>
/// An immutable float32 tensor, row-major (NCHW for images), that records the operations applied
/// to it when it is tracked, for reverse-mode differentiation with <see cref="Grad"/>.
/// </summary>
/// <example><code>
/// var x = Tensor.FromArray([1f, 2f, 3f], 3);
/// var (value, grad) = Grad.ValueAndGrad(t => (t * t).Sum(), x);   // grad = 2x
/// </code></example>
public sealed partial class Tensor
{
    internal readonly RawTensor Raw;
    internal readonly Node? Node;

    internal Tensor(RawTensor raw, Node? node = null) { Raw = raw; Node = node; }

    /// <summary>The dimensions (a copy).</summary>
    public int[] Shape => (int[])Raw.Shape.Clone();
    /// <summary>Number of dimensions.</summary>
    public int Rank => Raw.Shape.Length;
    /// <summary>Number of elements.</summary>
    public int Length => Raw.Length;
    /// <summary>True when operations on this tensor are being recorded for differentiation.</summary>
    public bool IsTracked => Node is not null;
    /// <summary>The backend storage (for kernels and other backends).</summary>
    public RawTensor Primal => Raw;
    /// <summary>The backend this tensor lives on.</summary>
    public Backend Backend => Raw.Backend;

    /// <summary>
    /// This tensor on <paramref name="backend"/> (itself when it is already there). Differentiable:
    /// the gradient moves back to this tensor's backend.
    /// </summary>
    /// <example><code>var xt = x.To(Backend.Get("torch"));</code></example>
    public Tensor To(Backend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (ReferenceEquals(backend, Raw.Backend)) return this;
        var from = Raw.Backend;
        return Record("to", backend.Create(Raw.ToArray(), (int[])Raw.Shape.Clone()), [this], dy => [dy.To(from)]);
    }

    /// <summary>A copy of the values, row-major.</summary>
    public float[] ToArray() => Raw.ToArray();

    /// <summary>The value of a one-element tensor.</summary>
    public float ToScalar() => Raw.Length == 1 ? Raw.At(0)
        : throw new InvalidOperationException($"toScalar: expected a tensor with one element, got shape {ShapeUtil.Format(Raw.Shape)}.");

    /// <summary>The element at a multi-index.</summary>
    public float this[params int[] index]
    {
        get
        {
            var s = Raw.Shape;
            if (index.Length != s.Length) throw new ArgumentException($"index: expected {s.Length} indices for shape {ShapeUtil.Format(s)}, got {index.Length}.", nameof(index));
            int flat = 0;
            for (int i = 0; i < s.Length; i++)
            {
                if ((uint)index[i] >= (uint)s[i]) throw new ArgumentOutOfRangeException(nameof(index), $"index: position {i} must be in [0, {s[i] - 1}], got {index[i]}.");
                flat = flat * s[i] + index[i];
            }
            return Raw.At(flat);
        }
    }

    /// <summary>Stop-gradient: the same values, untracked, so no gradient flows back through it.</summary>
    public Tensor NoDiff() => Node is null ? this : new Tensor(Raw);

    /// <summary>Records an op's result: tracked when recording is on and some input is tracked.</summary>
    internal static Tensor Record(string op, RawTensor result, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (NoGradScope.Active) return new Tensor(result);
        foreach (var t in inputs)
            if (t.Node is not null) return new Tensor(result, new Node(op, inputs, backward));
        return new Tensor(result);
    }

    internal Tensor Tracked() => new(Raw, Node.Leaf());

    /// <inheritdoc/>
    public override string ToString()
    {
        const int show = 8;
        var vals = string.Join(", ", Enumerable.Range(0, Math.Min(show, Length)).Select(i => Raw.At(i).ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        return $"Tensor{ShapeUtil.Format(Raw.Shape)} [{vals}{(Length > show ? ", …" : "")}]";
    }
}
