using System.Runtime.CompilerServices;
using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Nearest codebook entry per row for the vector quantizer (DESIGN §4), fused: distances are made
/// block by block (a few dozen rows against the whole codebook, through the GEMM micro-kernels) and
/// reduced to an index at once, so the [n,k] distance matrix never exists.
/// </summary>
internal static unsafe class NearestCode
{
    /// <summary>Rows per block: the block's distances (RowBlock×k) stay in L2.</summary>
    private const int RowBlock = 64;

    /// <summary>
    /// indices[i] = argmin_j (‖z_i‖² + ‖e_j‖²) − 2·z_i·e_j for rows z_i of z[n,d] and codes e_j of
    /// codebook[k,d]; ties go to the lowest index. Rows are independent, so results do not depend
    /// on the thread count.
    /// </summary>
    /// <exception cref="ArgumentException">Negative sizes, spans too short, k = 0 with n &gt; 0, or a NaN in z.</exception>
    public static void Argmin(ReadOnlySpan<float> z, int n, int d, ReadOnlySpan<float> codebook, int k, Span<int> indices)
    {
        Checks.NonNegative(n, nameof(n));
        Checks.NonNegative(d, nameof(d));
        Checks.NonNegative(k, nameof(k));
        Checks.Length(z.Length, (long)n * d, nameof(z), $"{n} rows of {d}");
        Checks.Length(codebook.Length, (long)k * d, nameof(codebook), $"{k} codes of {d}");
        if (indices.Length < n)
            throw new ArgumentException($"indices is too short for {n} rows: expected at least {n} elements, got {indices.Length}.", nameof(indices));
        if (n == 0) return;
        if (k == 0) throw new ArgumentException($"The codebook must have at least one code to search (k = {k}) for {n} rows.", nameof(k));
        int nan = FirstNaN(z[..(n * d)]);
        if (nan >= 0)
            throw new ArgumentException($"z holds NaN at element {nan} (row {nan / Math.Max(1, d)}); nearest codes are undefined.", nameof(z));

        // The codebook packed once as the GEMM's B operand (op(B) = codebookᵀ, [d, k]) and shared by every row block
        // and thread: repacking it per block cost a tenth of the search. Squared norms, four chains at a time.
        var kern = GemmKernels.Current;
        float[] packed = ArrayPool<float>.Shared.Rent((int)Math.Max(1, Gemm.PackedBSize(kern, d, k)));
        float[] eNorm = ArrayPool<float>.Shared.Rent(k);
        try
        {
            fixed (float* pz = z, pc = codebook, pb = packed, pn = eNorm)
            fixed (int* pi = indices)
            {
                Gemm.PackAllB(kern, true, d, k, pc, d, pb);
                SquaredNorms(pc, k, d, pn);
                var job = new Job(kern, pz, n, d, pc, pb, pn, k, pi);
                int blocks = (n + RowBlock - 1) / RowBlock;
                // Stryker disable once Equality,Arithmetic : equivalent in results, the threshold only decides whether the row blocks run on several threads
                Threading.For(blocks, (long)n * k * d >= Gemm.ParallelThreshold, job.Block);
            }
        }
        finally
        {
            // Stryker disable once Statement : equivalent in results, an array not returned to the pool is only collected instead
            ArrayPool<float>.Shared.Return(packed);
            // Stryker disable once Statement : equivalent in results, as above
            ArrayPool<float>.Shared.Return(eNorm);
        }
    }

    /// <summary>
    /// norms[i] = Σ_p v[i,p]² for rows v[rows, d], each one FMA chain in p order (the bits of <see cref="SquaredNorm"/>);
    /// four rows' chains run side by side so the FMA latency overlaps instead of serialising a row at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SquaredNorms(float* v, int rows, int d, float* norms)
    {
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            float* r0 = v + (long)i * d, r1 = r0 + d, r2 = r1 + d, r3 = r2 + d;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int p = 0; p < d; p++)
            {
                s0 = MathF.FusedMultiplyAdd(r0[p], r0[p], s0);
                s1 = MathF.FusedMultiplyAdd(r1[p], r1[p], s1);
                s2 = MathF.FusedMultiplyAdd(r2[p], r2[p], s2);
                s3 = MathF.FusedMultiplyAdd(r3[p], r3[p], s3);
            }
            norms[i] = s0; norms[i + 1] = s1; norms[i + 2] = s2; norms[i + 3] = s3;
        }
        for (; i < rows; i++) norms[i] = SquaredNorm(new ReadOnlySpan<float>(v + (long)i * d, d));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SquaredNorm(ReadOnlySpan<float> v)
    {
        float s = 0f;
        for (int p = 0; p < v.Length; p++) s = MathF.FusedMultiplyAdd(v[p], v[p], s);
        return s;
    }

    private static int FirstNaN(ReadOnlySpan<float> z)
    {
        int i = 0, w = Vector<float>.Count;
        for (; i + w <= z.Length; i += w)
        {
            var v = new Vector<float>(z.Slice(i, w));
            if (!Vector.EqualsAll(v, v)) break;
        }
        for (; i < z.Length; i++) if (float.IsNaN(z[i])) return i;
        return -1;
    }

    private sealed class Job(GemmKernels.Kernel kern, float* z, int n, int d, float* codebook, float* packedCodes, float* eNorm, int k, int* indices)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Block(int b)
        {
            int i0 = b * RowBlock, rows = Math.Min(RowBlock, n - i0);
            float* dots = Scratch.Get(Scratch.Aux, (long)rows * k + RowBlock);
            float* zNorm = dots + (long)rows * k;
            // dots = −2·z_block·eᵀ (the factor −2 is exact, folded into the packed A).
            Gemm.Run(kern, false, true, rows, k, d, -2f, z + (long)i0 * d, d, codebook, d, 0f, dots, k, parallel: false,
                packedB: packedCodes);
            SquaredNorms(z + (long)i0 * d, rows, d, zNorm);
            for (int i = 0; i < rows; i++)
                indices[i0 + i] = RowArgmin(kern.Isa, zNorm[i], dots + (long)i * k, eNorm, k);
        }
    }

    /// <summary>
    /// argmin_j (zn + eNorm[j]) + dots[j], lowest index on ties, with the vectors of the ISA level. Each lane keeps
    /// its earliest minimum (strict less), the lanes are merged by value then index, and the tail runs scalar:
    /// the same index as the scalar scan at every level.
    /// </summary>
    private static int RowArgmin(IsaLevel isa, float zn, float* dots, float* eNorm, int k)
    {
        float best = float.PositiveInfinity;
        int bestIdx = 0, j = isa switch
        {
            IsaLevel.Avx512 or IsaLevel.Avx2 => ArgminLanes256(zn, dots, eNorm, k, ref best, ref bestIdx),
            IsaLevel.Vector128 => ArgminLanes128(zn, dots, eNorm, k, ref best, ref bestIdx),
            _ => 0,
        };
        for (; j < k; j++)
        {
            float dist = zn + eNorm[j] + dots[j];
            if (dist < best) { best = dist; bestIdx = j; }
        }
        return bestIdx;
    }

    /// <summary>The lanes' minima over whole vectors of 8; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ArgminLanes256(float zn, float* dots, float* eNorm, int k, ref float best, ref int bestIdx)
    {
        const int w = 8;
        // Stryker disable once Equality,Boolean : equivalent, with fewer codes than lanes the loop below runs no vector and the scalar tail scans them all
        if (k < w) return 0;
        var vzn = Vector256.Create(zn);
        var minV = Vector256.Create(float.PositiveInfinity);
        var minI = Vector256<int>.Zero;
        var idx = Vector256<int>.Indices;
        var step = Vector256.Create(w);
        int j = 0;
        // Stryker disable once Equality : equivalent, a vector the loop leaves out is scanned by the scalar tail (same minimum, same lowest index)
        for (; j + w <= k; j += w, idx += step)
        {
            var dist = vzn + Vector256.Load(eNorm + j) + Vector256.Load(dots + j);
            var lt = Vector256.LessThan(dist, minV);
            minV = Vector256.ConditionalSelect(lt, dist, minV);
            minI = Vector256.ConditionalSelect(lt.AsInt32(), idx, minI);
        }
        for (int l = 0; l < w; l++) Merge(minV.GetElement(l), minI.GetElement(l), ref best, ref bestIdx);
        return j;
    }

    /// <summary>The lanes' minima over whole vectors of 4; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ArgminLanes128(float zn, float* dots, float* eNorm, int k, ref float best, ref int bestIdx)
    {
        const int w = 4;
        // Stryker disable once Equality,Boolean : equivalent, with fewer codes than lanes the loop below runs no vector and the scalar tail scans them all
        if (k < w) return 0;
        var vzn = Vector128.Create(zn);
        var minV = Vector128.Create(float.PositiveInfinity);
        var minI = Vector128<int>.Zero;
        var idx = Vector128<int>.Indices;
        var step = Vector128.Create(w);
        int j = 0;
        // Stryker disable once Equality : equivalent, a vector the loop leaves out is scanned by the scalar tail (same minimum, same lowest index)
        for (; j + w <= k; j += w, idx += step)
        {
            var dist = vzn + Vector128.Load(eNorm + j) + Vector128.Load(dots + j);
            var lt = Vector128.LessThan(dist, minV);
            minV = Vector128.ConditionalSelect(lt, dist, minV);
            minI = Vector128.ConditionalSelect(lt.AsInt32(), idx, minI);
        }
        for (int l = 0; l < w; l++) Merge(minV.GetElement(l), minI.GetElement(l), ref best, ref bestIdx);
        return j;
    }

    private static void Merge(float v, int ix, ref float best, ref int bestIdx)
    {
        if (v < best || (v == best && ix < bestIdx)) { best = v; bestIdx = ix; }
    }
}
