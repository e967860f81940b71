using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Portable rows (the <see cref="IsaLevel.Vector128"/> level: SSE on x64, NEON on ARM64) for the padded lowering
/// (<see cref="Im2Col.LowerPackedImages"/>) and scatter (<see cref="Im2Col.RaisePadded"/>), for strides 1 and 2
/// across: 4 outputs of a row per register. Like <see cref="Avx2Rows"/>, pure data movement and the same adds in
/// the same order as the plain loops, so the bits are theirs.
/// </summary>
/// <remarks>
/// Lowering runs tap by tap over a group's images. A segment never crosses a sliver edge (one that would is cut
/// in two, each gathered from its own inputs), and its whole-register store spills only onto later pixels of the
/// same panel row or, past the sliver's edge, onto the next tap's row, both rewritten later; the chunk's last tap
/// stores such segments lane by lane. Loads read up to 8 floats past a row's data (within <see cref="Im2Col.Slack"/>).
/// </remarks>
internal static unsafe class Vector128Rows
{
    /// <summary>Most segments a plan holds on the stack (24 bytes each).</summary>
    private const int MaxSegments = 1024;

    /// <summary>Upper bound of the segments of count images (each row's 4-output pieces, some cut at a sliver edge).</summary>
    public static int MaxSegmentsOf(ConvGeometry g, int count, int nr) =>
        (int)Math.Min(int.MaxValue, (long)count * g.Ho * ((g.Wo + 3) / 4 + (g.Wo + nr - 1) / nr + 1));

    /// <summary>Whether the lowering rows apply: stride 1 or 2 across, slivers of at least a register, a plan that fits on the stack.</summary>
    public static bool LowerApplies(ConvGeometry g, int nr, int count) =>
        nr >= 4 && g.StrideW is 1 or 2 && g.Wo > 0 && MaxSegmentsOf(g, count, nr) <= MaxSegments;

    /// <summary>A piece of up to 4 outputs of one row within one sliver: where its inputs start and where it lands.</summary>
    public struct Segment
    {
        public long Src, Dst;
        public int Col, Lanes;
    }

    /// <summary>Segments of count images side by side (see <see cref="Avx2Rows.Plan"/>), cut at sliver edges; returns their count.</summary>
    public static int Plan(ConvGeometry g, int count, long imgP, int nr, long sliverStride, long rowStride, Segment* plan)
    {
        int n = 0, wo = g.Wo, s = g.StrideW, pix = g.Ho * g.Wo;
        for (int j = 0; j < count; j++)
            for (int oh = 0; oh < g.Ho; oh++)
                for (int ow = 0; ow < wo;)
                {
                    int c = j * pix + oh * wo + ow, sliver = c / nr, col = c - sliver * nr;
                    int lanes = Math.Min(Math.Min(4, wo - ow), nr - col);
                    plan[n++] = new Segment
                    {
                        Src = j * imgP + oh * g.StrideH * rowStride + (long)ow * s,
                        Dst = sliver * sliverStride + col,
                        Col = col,
                        Lanes = lanes,
                    };
                    ow += lanes;
                }
        return n;
    }

    /// <summary>Inputs src[0], src[s], src[2s], src[3s] (s = 1 or 2) as one register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Gather(float* src, bool stride2)
    {
        if (!stride2) return Vector128.Load(src);
        var lo = Vector128.Load(src);
        var hi = Vector128.Load(src + 4);
        // Stryker disable once Boolean : equivalent in values, the portable shuffle takes the same lanes
        if (Sse.IsSupported) return Sse.Shuffle(lo, hi, 0b10_00_10_00);
        if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.UnzipEven(lo, hi);
        return EvenLanes(lo, hi);
    }

    /// <summary>Lanes 0 and 2 of lo, then of hi, without SSE or AdvSimd (a CPU with neither).</summary>
    internal static Vector128<float> EvenLanes(Vector128<float> lo, Vector128<float> hi) =>
        Vector128.ConditionalSelect(Vector128.Create(0, 0, -1, -1).AsSingle(),
            Vector128.Shuffle(hi, Vector128.Create(0, 0, 0, 2)), Vector128.Shuffle(lo, Vector128.Create(0, 2, 0, 0)));

    /// <summary>One tap's rows of the lowering into its packed panel row (dst = panel + (r − p0)·nr).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerTap(float* tap, float* dst, Segment* plan, int segments, int nr, bool stride2, bool lastRow)
    {
        for (int i = 0; i < segments; i++)
        {
            ref readonly var t = ref plan[i];
            var v = Gather(tap + t.Src, stride2);
            // Stryker disable once Logical,Equality : equivalent in values, a lane-by-lane store where a whole register would fit writes the same lanes
            if (!lastRow || t.Col + 4 <= nr) Vector128.Store(v, dst + t.Dst);
            else
                for (int l = 0; l < t.Lanes; l++) dst[t.Dst + l] = v.GetElement(l);
        }
    }

    /// <summary>Registers (4 floats) one output row's scatter spans: 1 to 8.</summary>
    private static int ScatterRegisters(ConvGeometry g) => (int)(((long)g.StrideW * (g.Wo - 1) + 4) / 4);

    /// <summary>Whether the scatter applies: stride 1 or 2 across, a row within 8 registers, one tap's rows apart (no overlapping registers).</summary>
    public static bool ScatterApplies(ConvGeometry g) =>
        g.StrideW is 1 or 2 && g.Wo > 0 && (long)g.StrideW * (g.Wo - 1) < 32 && (long)g.StrideH * (g.W + 2 * g.PadW) >= 4 * ScatterRegisters(g);

    /// <summary>Lane masks of a row's registers (lanes that receive a term); register h takes outputs from ⌈4h/s⌉.</summary>
    public struct ScatterLanes
    {
        public int Count;
        public fixed int Mask[32];
    }

    public static ScatterLanes Lanes(ConvGeometry g)
    {
        var lanes = new ScatterLanes { Count = ScatterRegisters(g) };
        for (int h = 0; h < lanes.Count; h++)
            for (int l = 0; l < 4; l++)
            {
                int pos = 4 * h + l;
                lanes.Mask[4 * h + l] = pos % g.StrideW == 0 && pos / g.StrideW < g.Wo ? -1 : 0;
            }
        return lanes;
    }

    /// <summary>
    /// tap[oh·StrideH·rowStride + ow·StrideW] += src[oh·Wo + ow] for every output pixel, row by row in oh order:
    /// each register is read, the row's terms added on its target lanes, and written back whole.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterAddTap(ConvGeometry g, float* src, float* tap, long rowStride, ref ScatterLanes lanes)
    {
        int ho = g.Ho, wo = g.Wo, count = lanes.Count;
        bool stride2 = g.StrideW == 2;
        long step = g.StrideH * rowStride;
        fixed (int* maskBits = lanes.Mask)
        {
            var masks = (Vector128<float>*)maskBits;
            for (int oh = 0; oh < ho; oh++, tap += step, src += wo)
                for (int h = 0; h < count; h++)
                {
                    float* d = tap + 4 * h;
                    var old = Vector128.Load(d);
                    // Stride 1: register h takes outputs 4h..4h+3; stride 2: outputs 2h, 2h+1 on lanes 0 and 2.
                    var terms = stride2 ? Vector128.Shuffle(Vector128.Load(src + 2 * h), Vector128.Create(0, 0, 1, 1)) : Vector128.Load(src + 4 * h);
                    Vector128.Store(Vector128.ConditionalSelect(masks[h], old + terms, old), d);
                }
        }
    }
}
