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
        if (infer >= 0 && Array.IndexOf(s, -1, infer + 1) >= 0)
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

    /// <summary>Rows [start, start+count) along dimension 0 (a batch slice).</summary>
    public Tensor Narrow(int start, int count)
    {
        if (Rank == 0) throw new InvalidOperationException("narrow: a scalar has no dimension 0.");
        int n = Raw.Shape[0];
        if (start < 0 || count < 0 || start + count > n)
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: rows [{start}, {start + count}) are outside [0, {n}) for shape {ShapeUtil.Format(Raw.Shape)}.");
        var inShape = Raw.Shape;
        using var _ = OpProfiler.Time("narrow");
        return Record("narrow", Raw.Narrow0(start, count), [this], dy =>
        {
            var parts = new List<Tensor>();
            if (start > 0) parts.Add(Full(dy.Backend, 0f, [start, .. inShape[1..]]));
            parts.Add(dy);
            if (start + count < n) parts.Add(Full(dy.Backend, 0f, [n - start - count, .. inShape[1..]]));
            return [Cat(parts)];
        });
    }

    /// <summary>Concatenation along dimension 0.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("cat: expected at least one tensor.", nameof(parts));
        var s0 = parts[0].Raw.Shape;
        if (s0.Length == 0) throw new ArgumentException("cat: scalars cannot be concatenated.", nameof(parts));
        for (int i = 1; i < parts.Count; i++)
        {
            var s = parts[i].Raw.Shape;
            if (s.Length != s0.Length || !s.AsSpan(1).SequenceEqual(s0.AsSpan(1)))
                throw new ArgumentException($"cat: parts[{i}] has shape {ShapeUtil.Format(s)}, expected [*,{string.Join(",", s0[1..])}] like parts[0].", nameof(parts));
        }
        if (parts.Count == 1) return parts[0];
        using var _ = OpProfiler.Time("cat");
        var raw = parts[0].Raw.Cat0(parts.Select(p => p.Raw).ToArray());
        var arr = parts.ToArray();
        return Record("cat", raw, arr, dy =>
        {
            var g = new Tensor?[arr.Length];
            int at = 0;
            for (int i = 0; i < arr.Length; i++) { int c = arr[i].Raw.Shape[0]; if (arr[i].IsTracked) g[i] = dy.Narrow(at, c); at += c; }
            return g;
        });
    }
}
