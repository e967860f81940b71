using System.Runtime.CompilerServices;
using System.Buffers;
using System.Numerics.Tensors;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Convolution weight gradient dw[Cout, K] = dy[Cout, P] · colsᵀ[P, K]. Most layers go to
/// <see cref="WeightGradientColumns"/> (one whole-batch GEMM split by dw column blocks), few-tap layers to
/// <see cref="WeightGradientFewTaps"/> (dot products); this class keeps the geometries neither takes, summed as
/// Σ over image groups of dy_g[Cout, P] · cols_gᵀ[P, K].
/// The batch is cut into a fixed number of groups (from the geometry alone); each group's partial
/// sum is made by one worker with no synchronisation, and the partials are added in group order,
/// so bits do not depend on the thread count or on scheduling.
/// </summary>
internal static unsafe class WeightGradient
{
    /// <summary>
    /// Tests only: when set, every geometry but a few-tap one takes this class's grouped path, as if <see cref="WeightGradientColumns"/>
    /// did not apply. That path is otherwise taken only when a window leaves the padded image or the buffers pass
    /// 2^28 floats, which no test geometry reaches. Process-wide (the GEMMs run on worker threads), so a test that
    /// sets it must run alone (an xunit collection with parallelization disabled) and clear it again.
    /// </summary>
    internal static volatile bool ForceGrouped;

    /// <summary>Target GEMM depth (output pixels) per group: a few K chunks amortise the C traffic.</summary>
    private const int TargetDepth = 4 * Gemm.KC;

    /// <summary>
    /// Whether g has so few kernel taps (a 1-channel image side: 1×4×4 = 16 or fewer) that
    /// <see cref="WeightGradientFewTaps"/> is used. A constant, not the tile width of the ISA level's kernel: the
    /// paths sum in different orders, and every ISA level must give the same bits.
    /// </summary>
    internal static bool FewTaps(ConvGeometry g)
    {
        long k = (long)g.Cin * g.Kh * g.Kw;
        return k <= 16 && g.Cout >= 2 * k;
    }

    /// <summary>Images per group, from the geometry only (it fixes the reduction order).</summary>
    internal static int GroupSize(ConvGeometry g)
    {
        long pix = (long)g.Ho * g.Wo, rows = (long)g.Cin * g.Kh * g.Kw;
        // Stryker disable once Logical : && for || is equivalent, Run calls this only after returning early for N = 0 or no output pixels
        if (g.N == 0 || pix == 0) return 1;
        long nbMax = Math.Max(1, Math.Min(TargetDepth / pix, (1L << 21) / Math.Max(1, rows * pix)));
        // At least four groups when the batch allows (work for several workers), sizes balanced.
        long groups = Math.Max((g.N + nbMax - 1) / nbMax, Math.Min(g.N, 4));
        return (int)((g.N + groups - 1) / groups);
    }

    public static void Run(ConvGeometry g, float* x, float* dy, float* dw)
    {
        int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw, size = g.Cout * k;
        var dwSpan = new Span<float>(dw, size);
        if (g.N == 0 || pix == 0) { dwSpan.Clear(); return; }

        var kern = GemmKernels.Current;
        if (FewTaps(g))
        {
            WeightGradientFewTaps.Run(kern.Isa, g, x, dy, dw);
            return;
        }
        if (!ForceGrouped && WeightGradientColumns.Applies(g))
        {
            WeightGradientColumns.Run(kern, g, x, dy, dw);
            return;
        }
        int nb = GroupSize(g);
        int groups = (g.N + nb - 1) / nb;
        // Group 0 writes dw itself; the others write partial slots, added afterwards in order.
        float[]? slots = groups > 1 ? ArrayPool<float>.Shared.Rent((groups - 1) * size) : null;
        try
        {
            fixed (float* ps = slots)
            {
                var job = new Job(kern, g, x, dy, dw, ps, nb);
                // Stryker disable once Equality,Arithmetic : equivalent, these only move the size from which the groups run on several threads; each group's partial sum and their order stay the same (same bits)
                Threading.For(groups, (long)g.N * size * pix >= Gemm.ParallelThreshold, job.Group);
                // Stryker disable once Equality : groups >= 1 is equivalent, groups is at least 1 here (N >= 1) and one group leaves no slot to add
                if (groups > 1) AddSlots(dw, ps, groups - 1, size);
            }
        }
        finally
        {
            // Stryker disable once Statement : equivalent, not returning the buffer to the pool changes no result (the pool only saves an allocation)
            if (slots != null) ArrayPool<float>.Shared.Return(slots);
        }
    }

    /// <summary>Floats per reduction chunk: enough work per index to amortise the dispatch.</summary>
    private const int ReduceChunk = 1 << 15;

    /// <summary>
    /// dw += slot 0 + slot 1 + … in slot order, split over workers by element ranges (each element's
    /// additions stay in the same order, so bits are those of the serial loop).
    /// </summary>
    private static void AddSlots(float* dw, float* slots, int count, int size)
    {
        int chunks = (size + ReduceChunk - 1) / ReduceChunk;
        var job = new ReduceJob(dw, slots, count, size);
        // Stryker disable once Equality,Arithmetic,Bitwise : equivalent, these only move the size at which the chunks run on several threads, and each element's additions keep their order either way (same bits)
        Threading.For(chunks, (long)count * size >= 1 << 18, job.Chunk);
    }

    private sealed class ReduceJob(float* dw, float* slots, int count, int size)
    {
        public void Chunk(int c)
        {
            int start = c * ReduceChunk, len = Math.Min(ReduceChunk, size - start);
            var acc = new Span<float>(dw + start, len);
            for (int s = 0; s < count; s++)
                TensorPrimitives.Add(acc, new ReadOnlySpan<float>(slots + (long)s * size + start, len), acc);
        }
    }

    private sealed class Job(GemmKernels.Kernel kern, ConvGeometry g, float* x, float* dy, float* dw, float* slots, int nb)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Group(int s)
        {
            int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw;
            int n0 = s * nb, count = Math.Min(nb, g.N - n0), ld = count * pix;
            long inSize = (long)g.Cin * g.H * g.W;
            float* outp = s == 0 ? dw : slots + (long)(s - 1) * g.Cout * k;
            float* colsT = Scratch.Get(Scratch.Cols, (long)ld * k);
            float* dyg = Scratch.Get(Scratch.Aux, (long)g.Cout * ld + Gemm.PackedASize(kern, g.Cout, ld));
            float* packedDy = dyg + (long)g.Cout * ld;
            for (int j = 0; j < count; j++)
                Im2Col.LowerTransposed(g, x + (n0 + j) * inSize, colsT + (long)j * pix * k, k);
            ConvKernels.GatherOutput(g, dy, n0, count, dyg);
            // dw[Cout, K] = dyg[Cout, ld] · colsT[ld, K]: the lowering is written transposed so the GEMM
            // packs it with contiguous copies, and dyg is packed once for all output tiles.
            Gemm.PackAllA(kern, false, g.Cout, ld, 1f, dyg, ld, packedDy);
            Gemm.Run(kern, false, false, g.Cout, k, ld, 1f, dyg, ld, colsT, k, 0f, outp, k, parallel: false, packedA: packedDy);
        }
    }
}
