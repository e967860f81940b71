using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous sliver layout the micro-kernels stream:
/// an A sliver is [kc][MR] (alpha folded in), a B sliver is [kc][NR]; rows/columns past the matrix
/// edge are zero so kernels never branch on the edge.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs rows i0..i0+rows−1 (rows ≤ mr) of op(A), columns p0..p0+kc−1, scaled by alpha.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transA, float* a, int lda, int i0, int rows, int p0, int kc, int mr, float alpha, float* dst)
    {
        if (rows < mr)
            new Span<float>(dst, kc * mr).Clear();
        if (transA)
        {
            // A stored [k, m]: each p gives mr contiguous values.
            for (int p = 0; p < kc; p++)
            {
                float* src = a + (long)(p0 + p) * lda + i0;
                float* d = dst + p * mr;
                if (alpha == 1f) for (int r = 0; r < rows; r++) d[r] = src[r];
                else for (int r = 0; r < rows; r++) d[r] = alpha * src[r];
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                float* src = a + (long)(i0 + r) * lda + p0;
                float* d = dst + r;
                if (alpha == 1f) for (int p = 0; p < kc; p++) d[p * mr] = src[p];
                else for (int p = 0; p < kc; p++) d[p * mr] = alpha * src[p];
            }
        }
    }

    /// <summary>Packs columns j0..j0+cols−1 of op(B), rows p0..p0+kc−1, into ceil(cols/nr) slivers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, int ldb, int j0, int cols, int p0, int kc, int nr, float* dst)
    {
        for (int s = 0; s * nr < cols; s++)
        {
            int w = Math.Min(nr, cols - s * nr);
            float* d = dst + (long)s * kc * nr;
            int jj = j0 + s * nr;
            if (!transB)
            {
                // B stored [k, n]: each p gives w contiguous values.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(p0 + p) * ldb + jj;
                    float* dp = d + p * nr;
                    int c = 0;
                    // Inline vector copies (a Memmove call per 48-float row cost as much as the copy), as wide as the
                    // level's own vectors: nr says the level, and the portable level must not lean on 256-bit vectors
                    // an ARM64 core does not have, or forcing it here would measure a path no user runs.
                    if (nr >= 16)
                        for (; c + 8 <= w; c += 8) Vector256.Store(Vector256.Load(src + c), dp + c);
                    else if (nr == 8)
                        for (; c + 4 <= w; c += 4) Vector128.Store(Vector128.Load(src + c), dp + c);
                    for (; c < w; c++) dp[c] = src[c];
                    for (; c < nr; c++) dp[c] = 0f;
                }
            }
            else
            {
                // B stored [n, k]: column c of the sliver is a contiguous run over p.
                if (w < nr) new Span<float>(d, kc * nr).Clear();
                for (int c = 0; c < w; c++)
                {
                    float* src = b + (long)(jj + c) * ldb + p0;
                    for (int p = 0; p < kc; p++) d[p * nr + c] = src[p];
                }
            }
        }
    }
}
