using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

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
    internal readonly struct Kernel(IsaLevel isa, int mr, int nr, delegate*<int, float*, float*, float*, int, int, float, void> run)
    {
        public readonly IsaLevel Isa = isa;
        public readonly int MR = mr;
        public readonly int NR = nr;
        public readonly delegate*<int, float*, float*, float*, int, int, float, void> Run = run;
    }

    /// <summary>The kernel of the current <see cref="CpuIsa.Level"/>; callers read it once per operation and pass it on.</summary>
    public static Kernel Current => For(CpuIsa.Level);

    public static Kernel For(IsaLevel isa) => isa switch
    {
        IsaLevel.Avx512 => new Kernel(IsaLevel.Avx512, 8, 48, &Avx512_8x48),
        IsaLevel.Avx2 => new Kernel(IsaLevel.Avx2, 6, 16, &Avx2_6x16),
        IsaLevel.Vector128 => new Kernel(IsaLevel.Vector128, 6, 8, &V128_6x8),
        _ => new Kernel(IsaLevel.Scalar, 4, 4, &Scalar_4x4),
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
    private static void Store128(float* c, Vector128<float> acc, int mode, Vector128<float> vb)
    {
        if (mode == 0) Vector128.Store(acc, c);
        else if (mode == 1) Vector128.Store(acc + Vector128.Load(c), c);
        else Vector128.Store(Vector128.FusedMultiplyAdd(vb, Vector128.Load(c), acc), c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store1(float* c, float acc, int mode, float beta) =>
        *c = mode == 0 ? acc : mode == 1 ? acc + *c : MathF.FusedMultiplyAdd(beta, *c, acc);

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
        Store512(c, c00, mode, vb); Store512(c + 16, c01, mode, vb); Store512(c + 32, c02, mode, vb);
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
        Store256(c, c00, mode, vb); Store256(c + 8, c01, mode, vb);
        Store256(c + 1 * ldc, c10, mode, vb); Store256(c + 1 * ldc + 8, c11, mode, vb);
        Store256(c + 2 * ldc, c20, mode, vb); Store256(c + 2 * ldc + 8, c21, mode, vb);
        Store256(c + 3 * ldc, c30, mode, vb); Store256(c + 3 * ldc + 8, c31, mode, vb);
        Store256(c + 4 * ldc, c40, mode, vb); Store256(c + 4 * ldc + 8, c41, mode, vb);
        Store256(c + 5 * ldc, c50, mode, vb); Store256(c + 5 * ldc + 8, c51, mode, vb);
    }

    /// <summary>
    /// Portable tile (Vector128: SSE on x64, NEON on ARM64): 6 rows × 8 columns (2 vectors per row, 12 accumulators,
    /// which with the two B vectors and a broadcast fit x64's 16 xmm registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void V128_6x8(int kc, float* a, float* b, float* c, int ldc, int mode, float beta)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += 6, b += 8)
        {
            var b0 = Vector128.Load(b); var b1 = Vector128.Load(b + 4);
            { var ai = Vector128.Create(a[0]); c00 = Vector128.FusedMultiplyAdd(b0, ai, c00); c01 = Vector128.FusedMultiplyAdd(b1, ai, c01); }
            { var ai = Vector128.Create(a[1]); c10 = Vector128.FusedMultiplyAdd(b0, ai, c10); c11 = Vector128.FusedMultiplyAdd(b1, ai, c11); }
            { var ai = Vector128.Create(a[2]); c20 = Vector128.FusedMultiplyAdd(b0, ai, c20); c21 = Vector128.FusedMultiplyAdd(b1, ai, c21); }
            { var ai = Vector128.Create(a[3]); c30 = Vector128.FusedMultiplyAdd(b0, ai, c30); c31 = Vector128.FusedMultiplyAdd(b1, ai, c31); }
            { var ai = Vector128.Create(a[4]); c40 = Vector128.FusedMultiplyAdd(b0, ai, c40); c41 = Vector128.FusedMultiplyAdd(b1, ai, c41); }
            { var ai = Vector128.Create(a[5]); c50 = Vector128.FusedMultiplyAdd(b0, ai, c50); c51 = Vector128.FusedMultiplyAdd(b1, ai, c51); }
        }
        var vb = Vector128.Create(beta);
        Store128(c, c00, mode, vb); Store128(c + 4, c01, mode, vb);
        Store128(c + 1 * ldc, c10, mode, vb); Store128(c + 1 * ldc + 4, c11, mode, vb);
        Store128(c + 2 * ldc, c20, mode, vb); Store128(c + 2 * ldc + 4, c21, mode, vb);
        Store128(c + 3 * ldc, c30, mode, vb); Store128(c + 3 * ldc + 4, c31, mode, vb);
        Store128(c + 4 * ldc, c40, mode, vb); Store128(c + 4 * ldc + 4, c41, mode, vb);
        Store128(c + 5 * ldc, c50, mode, vb); Store128(c + 5 * ldc + 4, c51, mode, vb);
    }

    /// <summary>Scalar tile: 4 rows × 4 columns, one fused multiply-add per element and step, like the vector lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scalar_4x4(int kc, float* a, float* b, float* c, int ldc, int mode, float beta)
    {
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int p = 0; p < kc; p++, a += 4, b += 4)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            { float ai = a[0]; c00 = MathF.FusedMultiplyAdd(b0, ai, c00); c01 = MathF.FusedMultiplyAdd(b1, ai, c01); c02 = MathF.FusedMultiplyAdd(b2, ai, c02); c03 = MathF.FusedMultiplyAdd(b3, ai, c03); }
            { float ai = a[1]; c10 = MathF.FusedMultiplyAdd(b0, ai, c10); c11 = MathF.FusedMultiplyAdd(b1, ai, c11); c12 = MathF.FusedMultiplyAdd(b2, ai, c12); c13 = MathF.FusedMultiplyAdd(b3, ai, c13); }
            { float ai = a[2]; c20 = MathF.FusedMultiplyAdd(b0, ai, c20); c21 = MathF.FusedMultiplyAdd(b1, ai, c21); c22 = MathF.FusedMultiplyAdd(b2, ai, c22); c23 = MathF.FusedMultiplyAdd(b3, ai, c23); }
            { float ai = a[3]; c30 = MathF.FusedMultiplyAdd(b0, ai, c30); c31 = MathF.FusedMultiplyAdd(b1, ai, c31); c32 = MathF.FusedMultiplyAdd(b2, ai, c32); c33 = MathF.FusedMultiplyAdd(b3, ai, c33); }
        }
        Store1(c, c00, mode, beta); Store1(c + 1, c01, mode, beta); Store1(c + 2, c02, mode, beta); Store1(c + 3, c03, mode, beta);
        c += ldc; Store1(c, c10, mode, beta); Store1(c + 1, c11, mode, beta); Store1(c + 2, c12, mode, beta); Store1(c + 3, c13, mode, beta);
        c += ldc; Store1(c, c20, mode, beta); Store1(c + 1, c21, mode, beta); Store1(c + 2, c22, mode, beta); Store1(c + 3, c23, mode, beta);
        c += ldc; Store1(c, c30, mode, beta); Store1(c + 1, c31, mode, beta); Store1(c + 2, c32, mode, beta); Store1(c + 3, c33, mode, beta);
    }
}
