using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// AVX2 rows (the <see cref="IsaLevel.Avx2"/> level, and AVX-512's fallback) for the padded lowering
/// (<see cref="Im2Col.LowerPackedRows"/>) and scatter (<see cref="Im2Col.RaisePadded"/>): the 256-bit equivalent
/// of <see cref="WindowRows"/>. A kernel tap's output row is cut into segments of 8 outputs; a segment's inputs
/// (stride 1 or 2) sit in one or two ymm registers, gathered by one load or by a shuffle and a lane permute.
/// Pure data movement and the same adds in the same order as the scalar loops: the bits are theirs.
/// </summary>
/// <remarks>
/// Lowering runs tap by tap over all images of a group and stores whole registers. The lanes past a segment's
/// end spill onto panel positions that a later store overwrites: later pixels of the same panel row (this tap,
/// later segments), or past the sliver's edge the next tap's row of the sliver, which the next tap rewrites
/// whole. Only the chunk's last tap has no next row, so its segments that reach past the sliver edge are stored
/// lane by lane. Columns past the group's last pixel are zeroed by the caller afterwards. Loads read up to
/// <see cref="WindowRows.Slack"/> floats past the data, like the AVX-512 rows.
/// </remarks>
internal static unsafe class Avx2Rows
{
    /// <summary>Most segments (images × output rows × 8-output pieces) a plan holds on the stack (≈32 KB).</summary>
    private const int MaxSegments = 512;

    /// <summary>Segments of count images' output rows.</summary>
    public static int Segments(ConvGeometry g, int count) => (int)Math.Min(int.MaxValue, (long)count * g.Ho * ((g.Wo + 7) / 8));

    /// <summary>Whether the lowering rows apply: stride 1 or 2 across, slivers of at least a register, a plan that fits on the stack.</summary>
    public static bool LowerApplies(ConvGeometry g, int nr, int count) =>
        nr >= 8 && g.StrideW is 1 or 2 && g.Wo > 0 && Segments(g, count) <= MaxSegments;

    /// <summary>One segment of an output row: where its inputs start and where its lanes land in the panel.</summary>
    public struct Segment
    {
        /// <summary>Offset of the segment's first input from the tap's origin in the padded image.</summary>
        public long Src;
        /// <summary>Panel offset of the first lane (row 0 of the chunk), its column in the sliver, and the lanes there.</summary>
        public long First;
        public int Col, FirstLanes;
        /// <summary>Panel offset of the next sliver's row start when the segment crosses a sliver edge, else −1.</summary>
        public long Second;
        /// <summary>Lane permutation that moves lanes FirstLanes.. down to 0.. for the next sliver.</summary>
        public Vector256<int> Shift;
    }

    /// <summary>
    /// The segments of count images side by side (padded copies imgP apart; image j's pixels from panel column
    /// j·Ho·Wo, slivers of nr, sliverStride apart), in panel column order; returns their count.
    /// </summary>
    public static int Plan(ConvGeometry g, int count, long imgP, int nr, long sliverStride, long rowStride, Segment* plan)
    {
        int n = 0, wo = g.Wo, s = g.StrideW, pix = g.Ho * g.Wo;
        for (int j = 0; j < count; j++)
            for (int oh = 0; oh < g.Ho; oh++)
                for (int ow0 = 0; ow0 < wo; ow0 += 8)
                {
                    int lanes = Math.Min(8, wo - ow0);
                    int c = j * pix + oh * wo + ow0, sliver = c / nr, col = c - sliver * nr, first = Math.Min(lanes, nr - col);
                    plan[n++] = new Segment
                    {
                        Src = j * imgP + oh * g.StrideH * rowStride + (long)ow0 * s,
                        First = sliver * sliverStride + col,
                        Col = col,
                        FirstLanes = first,
                        Second = first < lanes ? (sliver + 1) * sliverStride : -1,
                        Shift = Vector256.Create(first) + Vector256<int>.Indices,
                    };
                }
        return n;
    }

    /// <summary>Inputs src[0], src[s], …, src[7·s] of a segment (s = 1 or 2) as one register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather(float* src, bool stride2)
    {
        if (!stride2) return Avx.LoadVector256(src);
        // [a0 a2 b0 b2 | a4 a6 b4 b6] → 64-bit lanes 0, 2, 1, 3 → [a0 a2 a4 a6 b0 b2 b4 b6]
        var even = Avx.Shuffle(Avx.LoadVector256(src), Avx.LoadVector256(src + 8), 0b10_00_10_00);
        return Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle();
    }

    /// <summary>
    /// One tap's rows of the lowering into a packed panel row (dst = panel + (r − p0)·nr):
    /// dst[segment targets] ← tap[Src + lane·StrideW]. <paramref name="lastRow"/>: the chunk's last tap (no spill past the sliver).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerTap(float* tap, float* dst, Segment* plan, int segments, int nr, bool stride2, bool lastRow)
    {
        for (int i = 0; i < segments; i++)
        {
            ref readonly var t = ref plan[i];
            var v = Gather(tap + t.Src, stride2);
            // Stryker disable once Logical : && for || is equivalent, it stores lane by lane where a whole register was stored, and the lanes it skips are the spill that later stores overwrite
            if (!lastRow || t.Col + 8 <= nr) Avx.Store(dst + t.First, v);
            else
                for (int l = 0; l < t.FirstLanes; l++) dst[t.First + l] = v.GetElement(l);
            if (t.Second >= 0) Avx.Store(dst + t.Second, Avx2.PermuteVar8x32(v, t.Shift));
        }
    }

    /// <summary>Registers (8 floats) one output row's scatter spans: 1 to 4.</summary>
    private static int ScatterRegisters(ConvGeometry g) => (int)(((long)g.StrideW * (g.Wo - 1) + 8) / 8);

    /// <summary>
    /// Whether the scatter applies: a row spans at most 4 registers, and one tap's rows lie far enough apart that
    /// their registers never overlap (a load over a just-stored, partly overlapping register stalls until the store retires).
    /// </summary>
    public static bool ScatterApplies(ConvGeometry g) =>
        g.Wo > 0 && (long)g.StrideW * (g.Wo - 1) < 32 && (long)g.StrideH * (g.W + 2 * g.PadW) >= 8 * ScatterRegisters(g);

    /// <summary>Per register h of a row: the first output it takes (source offset), lane → source index, lane mask.</summary>
    public struct ScatterLanes
    {
        public int Count;
        public fixed int Src[4];
        public Vector256<int> Index0, Index1, Index2, Index3;
        public Vector256<float> Mask0, Mask1, Mask2, Mask3;
    }

    public static ScatterLanes Lanes(ConvGeometry g)
    {
        var lanes = new ScatterLanes { Count = ScatterRegisters(g) };
        var index = stackalloc int[8];
        var mask = stackalloc float[8];
        for (int h = 0; h < lanes.Count; h++)
        {
            int first = (8 * h + g.StrideW - 1) / g.StrideW;
            lanes.Src[h] = first;
            for (int l = 0; l < 8; l++)
            {
                int pos = 8 * h + l;
                bool hit = pos % g.StrideW == 0 && pos / g.StrideW < g.Wo;
                index[l] = hit ? pos / g.StrideW - first : 0;
                mask[l] = hit ? BitConverter.Int32BitsToSingle(-1) : 0f;
            }
            var iv = Vector256.Load(index);
            var mv = Vector256.Load(mask);
            switch (h)
            {
                case 0: lanes.Index0 = iv; lanes.Mask0 = mv; break;
                case 1: lanes.Index1 = iv; lanes.Mask1 = mv; break;
                case 2: lanes.Index2 = iv; lanes.Mask2 = mv; break;
                default: lanes.Index3 = iv; lanes.Mask3 = mv; break;
            }
        }
        return lanes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRegister(float* tap, float* src, Vector256<int> index, Vector256<float> mask)
    {
        var old = Avx.LoadVector256(tap);
        var add = old + Avx2.PermuteVar8x32(Avx.LoadVector256(src), index);
        Avx.Store(tap, Avx.BlendVariable(old, add, mask));
    }

    /// <summary>
    /// tap[oh·StrideH·rowStride + ow·StrideW] += src[oh·Wo + ow] for every output pixel, row by row in oh order:
    /// each register is read, the row's terms added on its target lanes, and written back whole (other lanes unchanged).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterAddTap(ConvGeometry g, float* src, float* tap, long rowStride, in ScatterLanes lanes)
    {
        int ho = g.Ho, wo = g.Wo, count = lanes.Count;
        long step = g.StrideH * rowStride;
        int s1 = lanes.Src[1], s2 = lanes.Src[2], s3 = lanes.Src[3];
        var i0 = lanes.Index0; var m0 = lanes.Mask0;
        var i1 = lanes.Index1; var m1 = lanes.Mask1;
        var i2 = lanes.Index2; var m2 = lanes.Mask2;
        var i3 = lanes.Index3; var m3 = lanes.Mask3;
        for (int oh = 0; oh < ho; oh++, tap += step, src += wo)
        {
            AddRegister(tap, src, i0, m0);
            if (count > 1) AddRegister(tap + 8, src + s1, i1, m1);
            if (count > 2) AddRegister(tap + 16, src + s2, i2, m2);
            if (count > 3) AddRegister(tap + 24, src + s3, i3, m3);
        }
    }
}
