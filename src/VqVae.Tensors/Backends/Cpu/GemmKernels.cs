using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>Which micro-kernel family <see cref="Gemm"/> uses.</summary>
internal enum GemmIsa
{
    /// <summary>The fastest one this CPU supports.</summary>
    Auto,
    /// <summary>AVX-512F, 8×48 register tile.</summary>
    Avx512,
    /// <summary>AVX2 + FMA3, 6×16 register tile.</summary>
    Avx2,
    /// <summary>System.Numerics.Vector (any CPU), 4 × 2·Vector&lt;float&gt;.Count register tile.</summary>
    Portable,
}

/// <summary>
/// Register-blocked micro-kernels: C[MR,NR] (op)= Apanel[kc,MR]ᵀ · Bpanel[kc,NR], both panels packed
/// contiguous. Every C element is one FMA chain over p = 0..kc−1 in order, then merged into C by
/// mode: 0 overwrite, 1 add, 2 c = acc + beta·c (one fused rounding). Edge tiles use the same
/// kernel into a scratch tile and <see cref="Merge"/>, which rounds identically, so an element's
/// bits never depend on where it sits in a tile.
/// </summary>
internal static unsafe class GemmKernels
{
    /// <summary>A kernel and its tile shape.</summary>
    internal readonly struct Kernel(GemmIsa isa, int mr, int nr, delegate*<int, float*, float*, float*, int, int, float, void> run)
    {
        public readonly GemmIsa Isa = isa;
        public readonly int MR = mr;
        public readonly int NR = nr;
        public readonly delegate*<int, float*, float*, float*, int, int, float, void> Run = run;
    }

    public static GemmIsa Best =>
        Avx512F.IsSupported ? GemmIsa.Avx512 : Avx2.IsSupported && Fma.IsSupported ? GemmIsa.Avx2 : GemmIsa.Portable;

    public static bool Supported(GemmIsa isa) => isa switch
    {
        GemmIsa.Auto or GemmIsa.Portable => true,
        GemmIsa.Avx512 => Avx512F.IsSupported,
        GemmIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    public static Kernel For(GemmIsa isa) => (isa == GemmIsa.Auto ? Best : isa) switch
    {
        GemmIsa.Avx512 => new Kernel(GemmIsa.Avx512, 8, 48, &Avx512_8x48),
        GemmIsa.Avx2 => new Kernel(GemmIsa.Avx2, 6, 16, &Avx2_6x16),
        _ => new Kernel(GemmIsa.Portable, 4, 2 * Vector<float>.Count, &Portable_4x2v),
    };

    /// <summary>Merges a scratch tile t[rows, cols] (row stride ld) into C exactly as the kernels' stores do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Merge(float* t, int ldt, float* c, int ldc, int rows, int cols, int mode, float beta)
    {
        for (int i = 0; i < rows; i++)
        {
            float* ti = t + i * ldt, ci = c + i * ldc;
            for (int j = 0; j < cols; j++)
                ci[j] = mode == 0 ? ti[j] : mode == 1 ? ti[j] + ci[j] : MathF.FusedMultiplyAdd(beta, ci[j], ti[j]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> acc, int mode, Vector512<float> vb)
    {
        if (mode == 0) Avx512F.Store(c, acc);
        else if (mode == 1) Avx512F.Store(c, Avx512F.Add(acc, Avx512F.LoadVector512(c)));
        else Avx512F.Store(c, Avx512F.FusedMultiplyAdd(vb, Avx512F.LoadVector512(c), acc));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> acc, int mode, Vector256<float> vb)
    {
        if (mode == 0) Avx.Store(c, acc);
        else if (mode == 1) Avx.Store(c, Avx.Add(acc, Avx.LoadVector256(c)));
        else Avx.Store(c, Fma.MultiplyAdd(vb, Avx.LoadVector256(c), acc));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreV(float* c, Vector<float> acc, int mode, float beta)
    {
        if (mode == 0) { Unsafe.WriteUnaligned(c, acc); return; }
        var old = Unsafe.ReadUnaligned<Vector<float>>(c);
        Unsafe.WriteUnaligned(c, mode == 1 ? acc + old : Vector.FusedMultiplyAdd(new Vector<float>(beta), old, acc));
    }

    /// <summary>AVX-512 tile: 8 rows × 48 columns (3 zmm per row, 24 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512_8x48(int kc, float* a, float* b, float* c, int ldc, int mode, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default; Vector512<float> c10 = default, c11 = default, c12 = default; Vector512<float> c20 = default, c21 = default, c22 = default; Vector512<float> c30 = default, c31 = default, c32 = default; Vector512<float> c40 = default, c41 = default, c42 = default; Vector512<float> c50 = default, c51 = default, c52 = default; Vector512<float> c60 = default, c61 = default, c62 = default; Vector512<float> c70 = default, c71 = default, c72 = default;
        for (int p = 0; p < kc; p++, a += 8, b += 48)
        {
            var b0 = Avx512F.LoadVector512(b); var b1 = Avx512F.LoadVector512(b + 16); var b2 = Avx512F.LoadVector512(b + 32);
            { var ai = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(b0, ai, c00); c01 = Avx512F.FusedMultiplyAdd(b1, ai, c01); c02 = Avx512F.FusedMultiplyAdd(b2, ai, c02); }
            { var ai = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(b0, ai, c10); c11 = Avx512F.FusedMultiplyAdd(b1, ai, c11); c12 = Avx512F.FusedMultiplyAdd(b2, ai, c12); }
            { var ai = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(b0, ai, c20); c21 = Avx512F.FusedMultiplyAdd(b1, ai, c21); c22 = Avx512F.FusedMultiplyAdd(b2, ai, c22); }
            { var ai = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(b0, ai, c30); c31 = Avx512F.FusedMultiplyAdd(b1, ai, c31); c32 = Avx512F.FusedMultiplyAdd(b2, ai, c32); }
            { var ai = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(b0, ai, c40); c41 = Avx512F.FusedMultiplyAdd(b1, ai, c41); c42 = Avx512F.FusedMultiplyAdd(b2, ai, c42); }
            { var ai = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(b0, ai, c50); c51 = Avx512F.FusedMultiplyAdd(b1, ai, c51); c52 = Avx512F.FusedMultiplyAdd(b2, ai, c52); }
            { var ai = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(b0, ai, c60); c61 = Avx512F.FusedMultiplyAdd(b1, ai, c61); c62 = Avx512F.FusedMultiplyAdd(b2, ai, c62); }
            { var ai = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(b0, ai, c70); c71 = Avx512F.FusedMultiplyAdd(b1, ai, c71); c72 = Avx512F.FusedMultiplyAdd(b2, ai, c72); }
        }
        var vb = Vector512.Create(beta);
        Store512(c + 0 * ldc, c00, mode, vb); Store512(c + 0 * ldc + 16, c01, mode, vb); Store512(c + 0 * ldc + 32, c02, mode, vb);
        Store512(c + 1 * ldc, c10, mode, vb); Store512(c + 1 * ldc + 16, c11, mode, vb); Store512(c + 1 * ldc + 32, c12, mode, vb);
        Store512(c + 2 * ldc, c20, mode, vb); Store512(c + 2 * ldc + 16, c21, mode, vb); Store512(c + 2 * ldc + 32, c22, mode, vb);
        Store512(c + 3 * ldc, c30, mode, vb); Store512(c + 3 * ldc + 16, c31, mode, vb); Store512(c + 3 * ldc + 32, c32, mode, vb);
        Store512(c + 4 * ldc, c40, mode, vb); Store512(c + 4 * ldc + 16, c41, mode, vb); Store512(c + 4 * ldc + 32, c42, mode, vb);
        Store512(c + 5 * ldc, c50, mode, vb); Store512(c + 5 * ldc + 16, c51, mode, vb); Store512(c + 5 * ldc + 32, c52, mode, vb);
        Store512(c + 6 * ldc, c60, mode, vb); Store512(c + 6 * ldc + 16, c61, mode, vb); Store512(c + 6 * ldc + 32, c62, mode, vb);
        Store512(c + 7 * ldc, c70, mode, vb); Store512(c + 7 * ldc + 16, c71, mode, vb); Store512(c + 7 * ldc + 32, c72, mode, vb);
    }

    /// <summary>AVX2+FMA tile: 6 rows × 16 columns (2 ymm per row, 12 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2_6x16(int kc, float* a, float* b, float* c, int ldc, int mode, float beta)
    {
        Vector256<float> c00 = default, c01 = default; Vector256<float> c10 = default, c11 = default; Vector256<float> c20 = default, c21 = default; Vector256<float> c30 = default, c31 = default; Vector256<float> c40 = default, c41 = default; Vector256<float> c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += 6, b += 16)
        {
            var b0 = Avx.LoadVector256(b); var b1 = Avx.LoadVector256(b + 8);
            { var ai = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(b0, ai, c00); c01 = Fma.MultiplyAdd(b1, ai, c01); }
            { var ai = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(b0, ai, c10); c11 = Fma.MultiplyAdd(b1, ai, c11); }
            { var ai = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(b0, ai, c20); c21 = Fma.MultiplyAdd(b1, ai, c21); }
            { var ai = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(b0, ai, c30); c31 = Fma.MultiplyAdd(b1, ai, c31); }
            { var ai = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(b0, ai, c40); c41 = Fma.MultiplyAdd(b1, ai, c41); }
            { var ai = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(b0, ai, c50); c51 = Fma.MultiplyAdd(b1, ai, c51); }
        }
        var vb = Vector256.Create(beta);
        Store256(c + 0 * ldc, c00, mode, vb); Store256(c + 0 * ldc + 8, c01, mode, vb);
        Store256(c + 1 * ldc, c10, mode, vb); Store256(c + 1 * ldc + 8, c11, mode, vb);
        Store256(c + 2 * ldc, c20, mode, vb); Store256(c + 2 * ldc + 8, c21, mode, vb);
        Store256(c + 3 * ldc, c30, mode, vb); Store256(c + 3 * ldc + 8, c31, mode, vb);
        Store256(c + 4 * ldc, c40, mode, vb); Store256(c + 4 * ldc + 8, c41, mode, vb);
        Store256(c + 5 * ldc, c50, mode, vb); Store256(c + 5 * ldc + 8, c51, mode, vb);
    }

    /// <summary>Portable tile: 4 rows × 2 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Portable_4x2v(int kc, float* a, float* b, float* c, int ldc, int mode, float beta)
    {
        int w = Vector<float>.Count, nr = 2 * w;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++, a += 4, b += nr)
        {
            var b0 = Unsafe.ReadUnaligned<Vector<float>>(b);
            var b1 = Unsafe.ReadUnaligned<Vector<float>>(b + w);
            var a0 = new Vector<float>(a[0]); c00 = Vector.FusedMultiplyAdd(b0, a0, c00); c01 = Vector.FusedMultiplyAdd(b1, a0, c01);
            var a1 = new Vector<float>(a[1]); c10 = Vector.FusedMultiplyAdd(b0, a1, c10); c11 = Vector.FusedMultiplyAdd(b1, a1, c11);
            var a2 = new Vector<float>(a[2]); c20 = Vector.FusedMultiplyAdd(b0, a2, c20); c21 = Vector.FusedMultiplyAdd(b1, a2, c21);
            var a3 = new Vector<float>(a[3]); c30 = Vector.FusedMultiplyAdd(b0, a3, c30); c31 = Vector.FusedMultiplyAdd(b1, a3, c31);
        }
        StoreV(c, c00, mode, beta); StoreV(c + w, c01, mode, beta);
        StoreV(c + ldc, c10, mode, beta); StoreV(c + ldc + w, c11, mode, beta);
        StoreV(c + 2 * ldc, c20, mode, beta); StoreV(c + 2 * ldc + w, c21, mode, beta);
        StoreV(c + 3 * ldc, c30, mode, beta); StoreV(c + 3 * ldc + w, c31, mode, beta);
    }
}
