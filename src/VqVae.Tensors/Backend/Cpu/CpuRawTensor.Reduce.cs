using System.Numerics.Tensors;

namespace VqVae.Tensors.Backend.Cpu;

public sealed partial class CpuRawTensor
{
    /// <inheritdoc/>
    public override RawTensor Sum(int[] dims, bool keepDim)
    {
        // Reduce one dimension at a time, last first; each pass is an (outer, reduced, inner) loop
        // whose inner run is a SIMD add, so the common cases stay fast and the order is fixed.
        float[] cur = Data; var cs = (int[])shape.Clone();
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            int d = dims[k];
            int outer = 1, inner = 1, n = cs[d];
            for (int i = 0; i < d; i++) outer *= cs[i];
            for (int i = d + 1; i < cs.Length; i++) inner *= cs[i];
            var r = new float[outer * inner];
            for (int o = 0; o < outer; o++)
            {
                var dst = r.AsSpan(o * inner, inner);
                if (inner == 1) { dst[0] = TensorPrimitives.Sum(cur.AsSpan(o * n, n)); continue; }
                for (int j = 0; j < n; j++) TensorPrimitives.Add(dst, cur.AsSpan((o * n + j) * inner, inner), dst);
            }
            cur = r; cs[d] = 1;
        }
        if (keepDim) return Make(cur == Data ? (float[])Data.Clone() : cur, cs);
        var outShape = new List<int>();
        for (int i = 0; i < cs.Length; i++) if (Array.IndexOf(dims, i) < 0) outShape.Add(cs[i]);
        return Make(cur == Data ? (float[])Data.Clone() : cur, [.. outShape]);
    }

    /// <inheritdoc/>
    public override RawTensor Permute(int[] perm)
    {
        int rank = shape.Length;
        var os = new int[rank];
        var inSt = ShapeUtil.Strides(shape);
        var st = new int[rank];
        for (int i = 0; i < rank; i++) { os[i] = shape[perm[i]]; st[i] = inSt[perm[i]]; }
        var r = new float[Data.Length];
        if (r.Length == 0) return Make(r, os);
        int inner = rank == 0 ? 1 : os[rank - 1], sIn = rank == 0 ? 1 : st[rank - 1];
        var idx = new int[Math.Max(rank - 1, 0)];
        int off = 0, outer = r.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int dst = o * inner;
            if (sIn == 1) Data.AsSpan(off, inner).CopyTo(r.AsSpan(dst, inner));
            else for (int j = 0, s = off; j < inner; j++, s += sIn) r[dst + j] = Data[s];
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; off += st[d];
                if (idx[d] < os[d]) break;
                off -= st[d] * os[d]; idx[d] = 0;
            }
        }
        return Make(r, os);
    }

    /// <inheritdoc/>
    public override RawTensor Narrow0(int start, int count)
    {
        int row = shape.Length == 0 ? 1 : Data.Length / Math.Max(shape[0], 1);
        var os = (int[])shape.Clone(); os[0] = count;
        return Make(Data.AsSpan(start * row, count * row).ToArray(), os);
    }

    /// <inheritdoc/>
    public override RawTensor Cat0(IReadOnlyList<RawTensor> parts)
    {
        var os = (int[])shape.Clone();
        os[0] = 0;
        foreach (var p in parts) os[0] += p.Shape[0];
        var r = new float[ShapeUtil.Size(os)];
        int at = 0;
        foreach (var p in parts) { var d = Cpu(p); d.CopyTo(r, at); at += d.Length; }
        return Make(r, os);
    }
}
