using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Row gather (codebook lookup), its scatter-add adjoint, argmin and one-hot.
public sealed partial class Tensor
{
    /// <summary>True when any element is NaN or ±∞ (one pass over the values; no tape).</summary>
    public bool HasNonFinite() => Raw.HasNonFinite();

    /// <summary>Rows of this [K,D] table at <paramref name="indices"/>: [M,D]. Backward scatter-adds into the table.</summary>
    /// <example><code>var zq = codebook.GatherRows(indices);</code></example>
    public Tensor GatherRows(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (Rank != 2) throw new ArgumentException($"gatherRows: the table must be 2-D [K,D], got {ShapeUtil.Format(Raw.Shape)}.");
        int k = Raw.Shape[0];
        CheckIndices("gatherRows", indices, k);
        var idx = (int[])indices.Clone();
        using var _ = OpProfiler.Time("gatherRows");
        return Record("gatherRows", Raw.GatherRows(idx), [this], dy => [dy.ScatterAddRows(idx, k)]);
    }

    /// <summary>Adds row i of this [M,D] into row indices[i] of a zero [rows,D] table. Backward gathers.</summary>
    public Tensor ScatterAddRows(int[] indices, int rows)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (Rank != 2) throw new ArgumentException($"scatterAddRows: the source must be 2-D [M,D], got {ShapeUtil.Format(Raw.Shape)}.");
        if (indices.Length != Raw.Shape[0]) throw new ArgumentException($"scatterAddRows: expected {Raw.Shape[0]} indices (one per row), got {indices.Length}.", nameof(indices));
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "scatterAddRows: rows must be ≥ 0.");
        CheckIndices("scatterAddRows", indices, rows);
        var idx = (int[])indices.Clone();
        using var _ = OpProfiler.Time("scatterAddRows");
        return Record("scatterAddRows", Raw.ScatterAddRows(idx, rows), [this], dy => [dy.GatherRows(idx)]);
    }

    /// <summary>Per row of a 2-D tensor, the index of the smallest value (ties → lowest index). Not differentiable.</summary>
    public int[] ArgMinRows()
    {
        if (Rank != 2 || Raw.Shape[1] == 0) throw new InvalidOperationException($"argMinRows: expected a 2-D tensor with at least one column, got {ShapeUtil.Format(Raw.Shape)}.");
        using var _ = OpProfiler.Time("argMinRows");
        if (Raw.HasNonFinite()) throw new InvalidOperationException("argMinRows: the tensor holds NaN or infinity.");
        return Raw.ArgMinRows();
    }

    /// <summary>For each row of this [N,D], the nearest row of <paramref name="codebook"/> [K,D] in squared L2
    /// (‖z‖²+‖e‖²−2z·e, ties → lowest index), without forming the [N,K] distance matrix. Not differentiable.</summary>
    public int[] NearestRows(Tensor codebook)
    {
        ArgumentNullException.ThrowIfNull(codebook);
        if (Rank != 2) throw new InvalidOperationException($"nearestRows: rows must be 2-D [N,D], got {ShapeUtil.Format(Raw.Shape)}.");
        if (codebook.Rank != 2 || codebook.Raw.Shape[1] != Raw.Shape[1] || codebook.Raw.Shape[0] == 0)
            throw new ArgumentException($"nearestRows: codebook must be [K,{Raw.Shape[1]}] with K ≥ 1, got {ShapeUtil.Format(codebook.Raw.Shape)}.", nameof(codebook));
        using var _ = OpProfiler.Time("nearestRows");
        if (Raw.HasNonFinite()) throw new ArgumentException("nearestRows: the rows hold NaN or infinity.");
        if (codebook.Raw.HasNonFinite()) throw new ArgumentException("nearestRows: the codebook holds NaN or infinity.", nameof(codebook));
        return Raw.NearestRows(codebook.Raw);
    }

    /// <summary>A [N,k] matrix with a 1 at (i, indices[i]) and 0 elsewhere (untracked).</summary>
    public static Tensor OneHot(int[] indices, int k)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "oneHot: k must be ≥ 1.");
        CheckIndices("oneHot", indices, k);
        return new Tensor(Backends.RawTensor.Create([], [0, 0]).OneHot(indices, k));
    }

    private static void CheckIndices(string op, int[] indices, int bound)
    {
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)bound)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{op}: indices[{i}] = {indices[i]} is outside [0, {bound - 1}].");
    }
}
