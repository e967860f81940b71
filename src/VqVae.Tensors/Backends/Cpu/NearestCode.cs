using System.Runtime.CompilerServices;
using System.Buffers;
using System.Numerics;

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

        // Codebook transposed to [d, k] so the GEMM packs it with contiguous copies; squared norms.
        float[] eT = ArrayPool<float>.Shared.Rent(Math.Max(1, d * k));
        float[] eNorm = ArrayPool<float>.Shared.Rent(k);
        try
        {
            for (int j = 0; j < k; j++)
            {
                var row = codebook.Slice(j * d, d);
                eNorm[j] = SquaredNorm(row);
                for (int p = 0; p < d; p++) eT[p * k + j] = row[p];
            }
            fixed (float* pz = z, pe = eT, pn = eNorm)
            fixed (int* pi = indices)
            {
                var job = new Job(pz, n, d, pe, pn, k, pi);
                int blocks = (n + RowBlock - 1) / RowBlock;
                Threading.For(blocks, (long)n * k * d >= Gemm.ParallelThreshold, job.Block);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(eT);
            ArrayPool<float>.Shared.Return(eNorm);
        }
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

    private sealed class Job(float* z, int n, int d, float* eT, float* eNorm, int k, int* indices)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Block(int b)
        {
            int i0 = b * RowBlock, rows = Math.Min(RowBlock, n - i0);
            float* dots = Scratch.Get(Scratch.Aux, (long)rows * k);
            // dots = −2·z_block·eᵀ (the factor −2 is exact, folded into the packed A).
            Gemm.Run(GemmKernels.For(GemmIsa.Auto), false, false, rows, k, d, -2f, z + (long)i0 * d, d, eT, k, 0f, dots, k, parallel: false);
            for (int i = 0; i < rows; i++)
            {
                float zn = SquaredNorm(new ReadOnlySpan<float>(z + (long)(i0 + i) * d, d));
                indices[i0 + i] = RowArgmin(zn, dots + (long)i * k, eNorm, k);
            }
        }
    }

    /// <summary>argmin_j (zn + eNorm[j]) + dots[j], lowest index on ties.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int RowArgmin(float zn, float* dots, float* eNorm, int k)
    {
        int w = Vector<float>.Count, j = 0;
        float best = float.PositiveInfinity;
        int bestIdx = 0;
        if (k >= w)
        {
            var vzn = new Vector<float>(zn);
            var minV = new Vector<float>(float.PositiveInfinity);
            var minI = Vector<int>.Zero;
            var idx = Vector<int>.Indices;
            var step = new Vector<int>(w);
            for (; j + w <= k; j += w, idx += step)
            {
                var dist = vzn + *(Vector<float>*)(eNorm + j) + *(Vector<float>*)(dots + j);
                var lt = Vector.LessThan(dist, minV); // strict: each lane keeps its earliest minimum
                minV = Vector.ConditionalSelect(lt, dist, minV);
                minI = Vector.ConditionalSelect(Vector.AsVectorInt32(lt), idx, minI);
            }
            for (int l = 0; l < w; l++)
            {
                float v = minV[l];
                int ix = minI[l];
                if (v < best || (v == best && ix < bestIdx)) { best = v; bestIdx = ix; }
            }
        }
        for (; j < k; j++)
        {
            float dist = zn + eNorm[j] + dots[j];
            if (dist < best) { best = dist; bestIdx = j; }
        }
        return bestIdx;
    }
}
