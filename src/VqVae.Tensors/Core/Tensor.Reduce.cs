using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Reductions and their adjoints (broadcast back over the reduced dimensions).
public sealed partial class Tensor
{
    /// <summary>Sum of all elements (shape []).</summary>
    public Tensor Sum() => Sum(Enumerable.Range(0, Rank).ToArray(), false);

    /// <summary>Sum over one dimension (negative counts from the end).</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Sum over several dimensions.</summary>
    public Tensor Sum(int[] dims, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var ds = NormaliseDims("sum", dims);
        var inShape = Raw.Shape;
        var keptShape = (int[])inShape.Clone();
        foreach (var d in ds) keptShape[d] = 1;
        using var _ = OpProfiler.Time("sum");
        return Record("sum", Raw.Sum(ds, keepDim), [this], dy => [dy.Reshape(keptShape).Expand(inShape)]);
    }

    /// <summary>Mean of all elements (shape []).</summary>
    public Tensor Mean() => Length == 0 ? throw new InvalidOperationException("mean: the tensor is empty.") : Sum() / Length;

    /// <summary>Mean over one dimension.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Mean over several dimensions.</summary>
    public Tensor Mean(int[] dims, bool keepDim = false)
    {
        var ds = NormaliseDims("mean", dims);
        int n = 1;
        foreach (var d in ds) n *= Raw.Shape[d];
        if (n == 0) throw new InvalidOperationException($"mean: the reduced dimensions of shape {ShapeUtil.Format(Raw.Shape)} are empty.");
        return Sum(ds, keepDim) / n;
    }

    /// <summary>Population variance over several dimensions: mean((x − mean)²).</summary>
    public Tensor Variance(int[] dims, bool keepDim = false)
    {
        var c = this - Mean(dims, true);
        return (c * c).Mean(dims, keepDim);
    }

    /// <summary>Sums a broadcast result back to <paramref name="shape"/> (the adjoint of broadcasting).</summary>
    public Tensor SumToShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var s = Raw.Shape;
        if (ShapeUtil.SameShape(s, shape)) return this;
        int lead = s.Length - shape.Length;
        if (lead < 0) throw new ArgumentException($"sumToShape: cannot sum shape {ShapeUtil.Format(s)} to the larger rank of {ShapeUtil.Format(shape)}.", nameof(shape));
        var dims = new List<int>();
        for (int i = 0; i < s.Length; i++)
        {
            if (i < lead) { dims.Add(i); continue; }
            int t = shape[i - lead];
            if (t == 1 && s[i] != 1) dims.Add(i);
            else if (t != s[i]) throw new ArgumentException($"sumToShape: shape {ShapeUtil.Format(s)} does not broadcast from {ShapeUtil.Format(shape)}.", nameof(shape));
        }
        // Stryker disable once Boolean : equivalent, keepDim false holds the same elements in the same order, and the Reshape to shape follows either way
        return Sum([.. dims], true).Reshape(shape);
    }

    private int[] NormaliseDims(string op, int[] dims)
    {
        var ds = dims.Select(d => ShapeUtil.Dim(op, d, Rank, "dims")).Distinct().Order().ToArray();
        if (ds.Length != dims.Length) throw new ArgumentException($"{op}: dims must be distinct, got [{string.Join(",", dims)}].", nameof(dims));
        return ds;
    }
}
