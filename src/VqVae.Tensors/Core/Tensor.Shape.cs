using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Shape ops: values move, nothing is computed; adjoints move them back.
public sealed partial class Tensor
{
    /// <summary>Same values in another shape of equal size; one dimension may be −1 (inferred).</summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (Array.LastIndexOf(s, -1) != infer)   // a second -1 after the first
            throw new ArgumentException($"reshape: at most one dimension may be -1, got {ShapeUtil.Format(shape)}.", nameof(shape));
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known <= 0 || Length % known != 0)
                throw new ArgumentException($"reshape: cannot infer -1 in {ShapeUtil.Format(shape)} for {Length} elements (shape {ShapeUtil.Format(Raw.Shape)}).", nameof(shape));
            s[infer] = Length / known;
        }
        ShapeUtil.CheckShape("reshape", nameof(shape), s);
        if (ShapeUtil.Size(s) != Length)
            throw new ArgumentException($"reshape: shape {ShapeUtil.Format(shape)} needs {ShapeUtil.Size(s)} elements, the tensor of shape {ShapeUtil.Format(Raw.Shape)} has {Length}.", nameof(shape));
        var inShape = Raw.Shape;
        using var _ = OpProfiler.Time("reshape");
        return Record("reshape", Raw.Reshape(s), [this], dy => [dy.Reshape(inShape)]);
    }

    /// <summary>Broadcasts to a larger shape (NumPy rules), materialised.</summary>
    public Tensor Expand(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var b = ShapeUtil.Broadcast("expand", Raw.Shape, shape);
        if (!ShapeUtil.SameShape(b, shape))
            throw new ArgumentException($"expand: shape {ShapeUtil.Format(Raw.Shape)} cannot be expanded to {ShapeUtil.Format(shape)}.", nameof(shape));
        if (ShapeUtil.SameShape(Raw.Shape, shape)) return this;
        var inShape = Raw.Shape;
        using var _ = OpProfiler.Time("expand");
        return Record("expand", Raw.Expand((int[])shape.Clone()), [this], dy => [dy.SumToShape(inShape)]);
    }

    /// <summary>Reorders dimensions: output dimension i is input dimension perm[i].</summary>
    /// <example><code>var nhwc = nchw.Permute(0, 2, 3, 1);</code></example>
    public Tensor Permute(params int[] perm)
    {
        ArgumentNullException.ThrowIfNull(perm);
        if (perm.Length != Rank) throw new ArgumentException($"permute: expected {Rank} dimensions for shape {ShapeUtil.Format(Raw.Shape)}, got [{string.Join(",", perm)}].", nameof(perm));
        var p = perm.Select(d => ShapeUtil.Dim("permute", d, Rank, "perm")).ToArray();
        if (p.Distinct().Count() != p.Length) throw new ArgumentException($"permute: perm must be a permutation, got [{string.Join(",", perm)}].", nameof(perm));
        var inverse = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inverse[p[i]] = i;
        using var _ = OpProfiler.Time("permute");
        return Record("permute", Raw.Permute(p), [this], dy => [dy.Permute(inverse)]);
    }

    /// <summary>Swaps two dimensions.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        var p = Enumerable.Range(0, Rank).ToArray();
        int a = ShapeUtil.Dim("transpose", dim0, Rank, nameof(dim0)), b = ShapeUtil.Dim("transpose", dim1, Rank, nameof(dim1));
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(p);
    }

    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor T => Rank == 2 ? Transpose(0, 1) : throw new InvalidOperationException($"T: expected a 2-D tensor, got shape {ShapeUtil.Format(Raw.Shape)}.");

    /// <summary>
    /// Elements [start, start+length) along <paramref name="dim"/> (torch.narrow semantics; negative
    /// dim counts from the end). Backward pads the adjoint with zeros back to the input's shape.
    /// </summary>
    /// <example><code>var batch = x.Narrow(0, 0, 16); var firstHalf = h.Narrow(1, 0, channels / 2);</code></example>
    public Tensor Narrow(int dim, int start, int length)
    {
        if (Rank == 0) throw new InvalidOperationException("narrow: a scalar has no dimension to narrow.");
        int d = ShapeUtil.Dim("narrow", dim, Rank, nameof(dim));
        int n = Raw.Shape[d];
        if (start < 0 || length < 0 || start > n - length)
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: elements [{start}, {(long)start + length}) of dimension {d} are outside [0, {n}) for shape {ShapeUtil.Format(Raw.Shape)}.");
        if (start == 0 && length == n) return this;
        var inShape = Raw.Shape;
        int rest = n - start - length;   // the elements after the narrowed run
        using var _ = OpProfiler.Time("narrow");
        return Record("narrow", Raw.Narrow(d, start, length), [this], dy =>
        {
            var parts = new List<Tensor>();
            // Stryker disable once Equality : equivalent, start >= 0 would only add a zero-length block of zeros, and cat of it changes no value, shape or profile row
            if (start > 0) { var z = (int[])inShape.Clone(); z[d] = start; parts.Add(Full(dy.Backend, 0f, z)); }
            parts.Add(dy);
            // Stryker disable once Equality : equivalent, rest >= 0 would only add a zero-length block of zeros, and cat of it changes no value, shape or profile row
            if (rest > 0) { var z = (int[])inShape.Clone(); z[d] = rest; parts.Add(Full(dy.Backend, 0f, z)); }
            return [Cat(parts, d)];
        });
    }

    /// <summary>Concatenation along <paramref name="dim"/> (default 0; negative counts from the end); the parts agree in every other dimension.</summary>
    /// <example><code>var joined = Tensor.Cat([top, bottom], dim: 1);   // channels</code></example>
    public static Tensor Cat(IReadOnlyList<Tensor> parts, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("cat: expected at least one tensor.", nameof(parts));
        for (int i = 0; i < parts.Count; i++)
            if (parts[i] is null) throw new ArgumentNullException(nameof(parts), $"cat: parts[{i}] is null.");
        var s0 = parts[0].Raw.Shape;
        if (s0.Length == 0) throw new ArgumentException("cat: scalars cannot be concatenated.", nameof(parts));
        int d = ShapeUtil.Dim("cat", dim, s0.Length, nameof(dim));
        for (int i = 1; i < parts.Count; i++)
        {
            var s = parts[i].Raw.Shape;
            bool ok = s.Length == s0.Length;
            for (int j = 0; ok && j < s.Length; j++) ok = j == d || s[j] == s0[j];
            if (!ok)
            {
                var expected = string.Join(",", s0.Select((v, j) => j == d ? "*" : v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                throw new ArgumentException($"cat: parts[{i}] has shape {ShapeUtil.Format(s)}, expected [{expected}] like parts[0] (joining dimension {d}).", nameof(parts));
            }
        }
        if (parts.Count == 1) return parts[0];
        using var _ = OpProfiler.Time("cat");
        var raw = parts[0].Raw.Cat(d, parts.Select(p => p.Raw).ToArray());
        var arr = parts.ToArray();
        return Record("cat", raw, arr, dy =>
        {
            var g = new Tensor?[arr.Length];
            int at = 0;
            for (int i = 0; i < arr.Length; i++) { int c = arr[i].Raw.Shape[d]; if (arr[i].IsTracked) g[i] = dy.Narrow(d, at, c); at += c; }
            return g;
        });
    }
}
