namespace VqVae.Tensors.Backends.Cpu;

internal sealed partial class CpuRawTensor
{
    /// <inheritdoc/>
    public override RawTensor MatMul(RawTensor b, bool transA, bool transB)
    {
        var bs = b.Shape;
        int m = transA ? shape[1] : shape[0], k = transA ? shape[0] : shape[1];
        int n = transB ? bs[0] : bs[1];
        // An empty operand (a zero dimension) gives zeros; Sgemm's stride checks want non-empty rows.
        if (m == 0 || n == 0 || k == 0) return Make(Alloc(m * n, true, out var o0), [m, n], o0);
        var r = Alloc(m * n, false, out var owner);
        Gemm.Sgemm(transA, transB, m, n, k, 1f, Data, shape[1], Cpu(b), bs[1], 0f, r, n);
        return Make(r, [m, n], owner);
    }

    /// <inheritdoc/>
    public override RawTensor Conv2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
        var y = Alloc(g.N * g.Cout * g.Ho * g.Wo, false, out var owner);
        ConvKernels.Forward(g, Data, Cpu(weight), bias is null ? ReadOnlySpan<float>.Empty : Cpu(bias), y);
        return Make(y, [g.N, g.Cout, g.Ho, g.Wo], owner);
    }

    /// <inheritdoc/>
    public override RawTensor Conv2dBackwardInput(RawTensor weight, ConvGeometry g)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
        var dx = Alloc(g.N * g.Cin * g.H * g.W, false, out var owner);
        ConvKernels.BackwardInput(g, Data, Cpu(weight), dx);
        return Make(dx, [g.N, g.Cin, g.H, g.W], owner);
    }

    /// <inheritdoc/>
    public override RawTensor Conv2dBackwardWeight(RawTensor dy, ConvGeometry g)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
        var dw = Alloc(g.Cout * g.Cin * g.Kh * g.Kw, false, out var owner);
        ConvKernels.BackwardWeight(g, Data, Cpu(dy), dw);
        return Make(dw, [g.Cout, g.Cin, g.Kh, g.Kw], owner);
    }

    /// <inheritdoc/>
    public override RawTensor GatherRows(int[] indices)
    {
        int d = shape[1];
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
        var r = Alloc(indices.Length * d, false, out var owner);
        for (int i = 0; i < indices.Length; i++) x.AsSpan(indices[i] * d, d).CopyTo(r.AsSpan(i * d, d));
        return Make(r, [indices.Length, d], owner);
    }

    /// <inheritdoc/>
    public override RawTensor ScatterAddRows(int[] indices, int rows)
    {
        int d = shape[1];
        var x = Data;
        var r = Alloc(rows * d, true, out var owner);
        for (int i = 0; i < indices.Length; i++)
            System.Numerics.Tensors.TensorPrimitives.Add(r.AsSpan(indices[i] * d, d), x.AsSpan(i * d, d), r.AsSpan(indices[i] * d, d));
        return Make(r, [rows, d], owner);
    }

    /// <inheritdoc/>
    public override int[] ArgMinRows()
    {
        int n = shape[0], k = shape[1];
        var r = new int[n];
        var x = Data;
        for (int i = 0; i < n; i++)
        {
            int best = 0; float bv = x[i * k];
            for (int j = 1; j < k; j++) { float v = x[i * k + j]; if (v < bv) { bv = v; best = j; } }
            r[i] = best;
        }
        return r;
    }

    /// <inheritdoc/>
    public override int[] NearestRows(RawTensor codebook)
    {
        var e = Cpu(codebook);
        int n = shape[0], d = shape[1], k = codebook.Shape[0];
        var r = new int[n];
        NearestCode.Argmin(Data, n, d, e, k, r);
        return r;
    }

    /// <inheritdoc/>
    public override RawTensor OneHot(int[] indices, int k)
    {
        var r = Alloc(indices.Length * k, true, out var owner);
        for (int i = 0; i < indices.Length; i++) r[i * k + indices[i]] = 1f;
        return Make(r, [indices.Length, k], owner);
    }
}
