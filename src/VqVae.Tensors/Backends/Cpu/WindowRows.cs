using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// AVX-512 rows (the <see cref="IsaLevel.Avx512"/> level) for the padded lowering (<see cref="Im2Col.LowerPackedRows"/>, <see cref="Im2Col.RaisePadded"/>):
/// one kernel tap's Wo outputs of an output row read the padded input at offsets 0, s, …, s·(Wo−1), which fit
/// a window of two 16-float registers when s·(Wo−1) &lt; 32. One permute then gathers (or, with masked loads
/// and stores, scatter-adds) a whole row, where the scalar paths spend an index load, a load and a store per
/// float. Pure data movement and the same adds in the same order: the bits equal the scalar paths'.
/// </summary>
/// <remarks>
/// Whole-register loads read up to <see cref="Slack"/> floats past the data (never used), so callers give the
/// padded images and the column matrix that much room.
/// </remarks>
internal static unsafe class WindowRows
{
    /// <summary>Floats a window may touch past the last row of a buffer.</summary>
    public const int Slack = 32;

    /// <summary>
    /// Whether the scatter applies: one tap's rows far enough apart that their registers never overlap
    /// (a load over a just-stored, partly overlapping register stalls until the store retires).
    /// </summary>
    public static bool ScatterApplies(ConvGeometry g) =>
        // Stryker disable once Equality,Arithmetic : equivalent in values, overlapping rows only stall (they are still scattered one after another)
        Applies(g) && (long)g.StrideH * (g.W + 2 * g.PadW) >= ScatterWidth(g);

    /// <summary>Floats one row's scatter spans: 8 (one ymm, e.g. 3×3 stride-1 rows of 7), 16 or 32.</summary>
    private static int ScatterWidth(ConvGeometry g)
    {
        long span = (long)g.StrideW * (g.Wo - 1);
        // Stryker disable once Conditional : equivalent in values, a wider register under the same lane masks
        return span < 8 ? 8 : span < 16 ? 16 : 32;
    }

    /// <summary>Whether g's output rows fit the window (and a plan of its rows fits on the stack).</summary>
    public static bool Applies(ConvGeometry g) =>
        g.Wo is > 0 and <= 16 && (long)g.StrideW * (g.Wo - 1) < 32 && g.Ho <= 64;

    /// <summary>Lane ow ← window offset ow·s; lanes past Wo pick anything (they are never stored; the permute reads
    /// only an index's low five bits, so any value stays inside the two registers).</summary>
    public static Vector512<int> PickIndices(ConvGeometry g)
    {
        Span<int> lanes = stackalloc int[16];
        for (int ow = 0; ow < 16; ow++) lanes[ow] = ow * g.StrideW;
        return Vector512.Create<int>(lanes);
    }

    /// <summary>
    /// Where one output row of the lowering lands in a packed-B panel: a masked store at <see cref="First"/>
    /// and, when the row crosses a sliver edge, its remaining lanes shifted down to the next sliver's start.
    /// </summary>
    public struct RowTarget
    {
        public long First, Second;
        public Vector512<float> FirstMask, SecondMask;
        public Vector512<int> Shift;
    }

    /// <summary>Targets of an image's Ho output rows whose pixels start at panel column q0 (slivers of nr, sliverStride apart).</summary>
    public static void PlanRows(ConvGeometry g, int q0, int nr, long sliverStride, RowTarget* plan)
    {
        int wo = g.Wo;
        for (int oh = 0; oh < g.Ho; oh++)
        {
            int c = q0 + oh * wo, sliver = c / nr, col = c - sliver * nr, first = Math.Min(wo, nr - col);
            plan[oh] = new RowTarget
            {
                First = sliver * sliverStride + col,
                FirstMask = LaneMask(first),
                // Stryker disable once Conditional : equivalent in values, a second store under an empty mask writes nothing
                Second = first < wo ? (sliver + 1) * sliverStride : -1,
                SecondMask = LaneMask(wo - first),
                Shift = Vector512.Create(first) + Vector512<int>.Indices,
            };
        }
    }

    private static Vector512<float> LaneMask(int lanes) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(lanes)).AsSingle();

    /// <summary>
    /// One tap's row of the lowering into a packed panel: dst[plan[oh]] ← tap[oh·StrideH·rowStride + ow·StrideW].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerTap(ConvGeometry g, float* tap, long rowStride, Vector512<int> pick, float* dst, RowTarget* plan)
    {
        int ho = g.Ho;
        long step = g.StrideH * rowStride;
        for (int oh = 0; oh < ho; oh++, tap += step)
        {
            var v = Avx512F.PermuteVar16x32x2(Avx512F.LoadVector512(tap), pick, Avx512F.LoadVector512(tap + 16));
            ref readonly var t = ref plan[oh];
            Avx512F.MaskStore(dst + t.First, t.FirstMask, v);
            // Stryker disable once Equality : equivalent, a second target is never at 0 (it starts a sliver after the first)
            if (t.Second >= 0) Avx512F.MaskStore(dst + t.Second, t.SecondMask, Avx512F.PermuteVar16x32(v, t.Shift));
        }
    }

    /// <summary>Per-lane source index and lane mask of the scatter for the window's low (half 0) or high (half 1) register.</summary>
    public static (Vector512<int> Index, Vector512<float> Mask) ScatterLanes(ConvGeometry g, int half)
    {
        var index = stackalloc int[16];
        var mask = stackalloc float[16];
        for (int lane = 0; lane < 16; lane++)
        {
            int pos = 16 * half + lane;
            bool hit = pos % g.StrideW == 0 && pos / g.StrideW < g.Wo;
            // Stryker disable once Conditional : equivalent, a lane off the grid is masked out whatever it picks
            index[lane] = hit ? pos / g.StrideW : 0;
            mask[lane] = hit ? BitConverter.Int32BitsToSingle(-1) : 0f;
        }
        return (Vector512.Load(index), Vector512.Load(mask));
    }

    /// <summary>
    /// tap[oh·StrideH·rowStride + ow·StrideW] += src[oh·Wo + ow] for every output pixel, row by row in oh order.
    /// Masked loads and stores touch only the targets, so neighbouring rows never overlap in memory. Rows
    /// that fit 8 floats use one ymm, read, blended and written back whole (lanes off the grid unchanged).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterAddTap(ConvGeometry g, float* src, float* tap, long rowStride,
        Vector512<int> indexLo, Vector512<float> maskLo, Vector512<int> indexHi, Vector512<float> maskHi)
    {
        int ho = g.Ho, wo = g.Wo, width = ScatterWidth(g);
        long step = g.StrideH * rowStride;
        if (width == 8)
        {
            Vector256<int> index8 = indexLo.GetLower();
            Vector256<float> mask8 = maskLo.GetLower();
            for (int oh = 0; oh < ho; oh++, tap += step)
            {
                var old = Avx.LoadVector256(tap);
                var add = old + Avx2.PermuteVar8x32(Avx.LoadVector256(src + oh * wo), index8);
                Avx.Store(tap, Vector256.ConditionalSelect(mask8, add, old));
            }
            return;
        }
        bool high = width == 32;
        var zero = Vector512<float>.Zero;
        for (int oh = 0; oh < ho; oh++, tap += step)
        {
            var v = Avx512F.LoadVector512(src + oh * wo);
            Avx512F.MaskStore(tap, maskLo, Avx512F.MaskLoad(tap, maskLo, zero) + Avx512F.PermuteVar16x32(v, indexLo));
            if (high)
                Avx512F.MaskStore(tap + 16, maskHi, Avx512F.MaskLoad(tap + 16, maskHi, zero) + Avx512F.PermuteVar16x32(v, indexHi));
        }
    }
}
