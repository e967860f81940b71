using System.Numerics.Tensors;

namespace VqVae.Tensors.Backends.Cpu;

internal sealed partial class CpuRawTensor
{
    /// <inheritdoc/>
    public override RawTensor Sum(int[] dims, bool keepDim)
    {
        // Reduce one dimension at a time, last first; each pass is an (outer, reduced, inner) loop
        // whose inner run is a SIMD add, so the common cases stay fast and the order is fixed.
        if (SumAllButOne(dims, keepDim) is { } fast) return fast;
        float[] cur = Data; var cs = (int[])shape.Clone();
        TensorArena? owner = Owner;
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            int d = dims[k];
            int outer = 1, inner = 1, n = cs[d];
            for (int i = 0; i < d; i++) outer *= cs[i];
            for (int i = d + 1; i < cs.Length; i++) inner *= cs[i];
            var r = Alloc(outer * inner, true, out owner);
            for (int o = 0; o < outer; o++)
            {
                var dst = r.AsSpan(o * inner, inner);
                if (inner == 1) { dst[0] = TensorPrimitives.Sum(cur.AsSpan(o * n, n)); continue; }
                for (int j = 0; j < n; j++) TensorPrimitives.Add(dst, cur.AsSpan((o * n + j) * inner, inner), dst);
            }
            cur = r; cs[d] = 1;
        }
        if (cur == Data)
        {
            // Stryker disable once Boolean : equivalent, zeroing storage the copy then fills
            cur = Alloc(Data.Length, false, out owner);
            Data.CopyTo(cur, 0);
        }
        if (keepDim) return Make(cur, cs, owner);
        var outShape = new List<int>();
        for (int i = 0; i < cs.Length; i++) if (Array.IndexOf(dims, i) < 0) outShape.Add(cs[i]);
        return Make(cur, [.. outShape], owner);
    }

    // Sum over every dimension but one (a bias gradient: dims [0,2,3] of NCHW) when the kept
    // dimension has contiguous runs behind it: result[c] = Σ_o Σ(x[o, c, :]) in the fixed lane order of
    // ElementwiseKernels.ChannelSum (the same bits at every ISA level), channels split over threads.
    private CpuRawTensor? SumAllButOne(int[] dims, bool keepDim)
    {
        int rank = shape.Length;
        if (rank < 2 || dims.Length != rank - 1) return null;
        int c = 0;
        while (c < dims.Length && dims[c] == c) c++; // dims sorted and distinct: the missing one is c
        int outer = 1, inner = 1, n = shape[c];
        for (int i = 0; i < c; i++) outer *= shape[i];
        for (int i = c + 1; i < rank; i++) inner *= shape[i];
        if (inner < 16) return null;
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(n, false, out var owner);
        var isa = CpuIsa.Level;
        // Stryker disable once Equality,Arithmetic,Bitwise : equivalent in values, only the size from which the channels go over threads (each channel's sum is one thread's)
        bool parallel = (long)outer * n * inner >= 1 << 18;
        Threading.For(n, parallel, ch =>
        {
            unsafe
            {
                fixed (float* px = x) r[ch] = ElementwiseKernels.ChannelSum(isa, px + (long)ch * inner, outer, (long)n * inner, inner);
            }
        });
        int[] os;
        if (keepDim) { os = new int[rank]; Array.Fill(os, 1); os[c] = n; }
        else os = [n];
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Permute(int[] perm)
    {
        int rank = shape.Length;
        var os = new int[rank];
        var inSt = ShapeUtil.Strides(shape);
        var st = new int[rank];
        for (int i = 0; i < rank; i++) { os[i] = shape[perm[i]]; st[i] = inSt[perm[i]]; }
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(x.Length, false, out var owner);
        if (r.Length == 0) return Make(r, os, owner);
        int inner = rank == 0 ? 1 : os[rank - 1], sIn = rank == 0 ? 1 : st[rank - 1];
        // Stryker disable once Arithmetic : equivalent, a longer index array whose extra places the walk never visits
        var idx = new int[Math.Max(rank - 1, 0)];
        int off = 0, outer = r.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int dst = o * inner;
            if (sIn == 1) x.AsSpan(off, inner).CopyTo(r.AsSpan(dst, inner));
            else for (int j = 0, s = off; j < inner; j++, s += sIn) r[dst + j] = x[s];
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; off += st[d];
                if (idx[d] < os[d]) break;
                off -= st[d] * os[d]; idx[d] = 0;
            }
        }
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Narrow0(int start, int count)
    {
        int row = Data.Length / Math.Max(shape[0], 1);   // rank ≥ 1: Tensor.Narrow refuses a scalar
        var os = (int[])shape.Clone(); os[0] = count;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(count * row, false, out var owner);
        Data.AsSpan(start * row, count * row).CopyTo(r);
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Cat0(IReadOnlyList<RawTensor> parts)
    {
        var os = (int[])shape.Clone();
        os[0] = 0;
        foreach (var p in parts) os[0] += p.Shape[0];
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(ShapeUtil.Size(os), false, out var owner);
        int at = 0;
        foreach (var p in parts) { var d = Cpu(p); d.CopyTo(r, at); at += d.Length; }
        return Make(r, os, owner);
    }

    // (outer, n, inner) view of a dimension: outer = product of the dimensions before it, inner =
    // after it. Narrow and Cat copy contiguous runs of length·inner; Max scans n strided values.
    private static (int Outer, int Inner) AroundDim(int[] s, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.Length; i++) inner *= s[i];
        return (outer, inner);
    }

    /// <inheritdoc/>
    public override RawTensor Narrow(int dim, int start, int length)
    {
        if (dim == 0) return Narrow0(start, length);
        var (outer, inner) = AroundDim(shape, dim);
        int n = shape[dim], run = length * inner;
        var os = (int[])shape.Clone(); os[dim] = length;
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(outer * run, false, out var owner);
        for (int o = 0; o < outer; o++) x.AsSpan((o * n + start) * inner, run).CopyTo(r.AsSpan(o * run, run));
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Cat(int dim, IReadOnlyList<RawTensor> parts)
    {
        if (dim == 0) return Cat0(parts);
        var (outer, inner) = AroundDim(shape, dim);
        var os = (int[])shape.Clone();
        os[dim] = 0;
        foreach (var p in parts) os[dim] += p.Shape[dim];
        int outRun = os[dim] * inner;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(ShapeUtil.Size(os), false, out var owner);
        int at = 0;
        foreach (var p in parts)
        {
            var d = Cpu(p);
            int run = p.Shape[dim] * inner;
            for (int o = 0; o < outer; o++) d.AsSpan(o * run, run).CopyTo(r.AsSpan(o * outRun + at, run));
            at += run;
        }
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Max(int dim, bool keepDim)
    {
        var (outer, inner) = AroundDim(shape, dim);
        int n = shape[dim];
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(outer * inner, false, out var owner);
        for (int o = 0; o < outer; o++)
        {
            var dst = r.AsSpan(o * inner, inner);
            x.AsSpan(o * n * inner, inner).CopyTo(dst);
            for (int j = 1; j < n; j++) TensorPrimitives.Max(dst, x.AsSpan((o * n + j) * inner, inner), dst);
        }
        var os = (int[])shape.Clone(); os[dim] = 1;
        return Make(r, keepDim ? os : shape.Where((_, d) => d != dim).ToArray(), owner);
    }
}
