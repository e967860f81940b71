using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Convolution weight gradient dw[Cout, K] = dY[Cout, P] · colsᵀ[P, K] as ONE GEMM over the whole batch
/// (P = N·Ho·Wo), split among workers by blocks of dw's columns (kernel taps). Each worker sums its columns
/// over all of P itself, lowering each K chunk of pixels straight from a zero-padded copy of the batch into
/// a packed-B panel that stays in its L2, so there are no per-group partial sums, no final reduction and
/// no column matrix.
/// </summary>
/// <remarks>
/// Bits: every element is the chunked FMA sum of <see cref="Gemm"/> over P (chunks of
/// <see cref="Gemm.ChunkDepth"/>(P), added in order); the column blocks only decide who computes an
/// element, never how, so results do not depend on the thread count or the block sizes.
/// </remarks>
internal static unsafe class WeightGradientColumns
{
    /// <summary>Largest packed-B panel per block (floats): about a third of a 1 MB L2, next to the C block.</summary>
    private const int PanelFloats = 96 * 1024;

    /// <summary>Whether this path handles g (windows inside the padded image, buffers of sane size).</summary>
    public static bool Applies(ConvGeometry g)
    {
        long pix = (long)g.Ho * g.Wo, p = g.N * pix;
        // Bounded with the widest row tile of any level (8), not kern's: the choice of path must not depend on the level.
        long rowsPadded = (g.Cout + 7) / 8 * 8;
        return Im2Col.FitsPadded(g) && p > 0 && rowsPadded * p <= 1 << 28 && g.N * Im2Col.PaddedImageSize(g) <= 1 << 28;
    }

    public static void Run(GemmKernels.Kernel kern, ConvGeometry g, float* x, float* dy, float* dw)
    {
        int pix = g.Ho * g.Wo, p = g.N * pix, k = g.Cin * g.Kh * g.Kw;
        int mr = kern.MR, nr = kern.NR;
        long rowsPadded = (g.Cout + mr - 1) / mr * mr;
        long imgP = Im2Col.PaddedImageSize(g);
        bool parallel = (long)g.Cout * k * p >= Gemm.ParallelThreshold;
        float[] dyPack = ArrayPool<float>.Shared.Rent(checked((int)(rowsPadded * p)));
        // + 4: a run of fewer than 4 taps is copied as one 4-float vector (see Job.Lower).
        float[] xpad = ArrayPool<float>.Shared.Rent(checked((int)(g.N * imgP + 4)));
        int[] offs = ArrayPool<int>.Shared.Rent(k + pix);
        try
        {
            fixed (float* pd = dyPack, px = xpad)
            fixed (int* po = offs)
            {
                int step = Gemm.ChunkDepth(p);
                Offsets(g, po, po + k);
                var job = new Job(kern, g, x, dy, dw, pd, px, po, po + k, step);
                Threading.For(g.N, parallel, job.Pad);
                Threading.For((int)(rowsPadded / mr), parallel, job.PackDy);
                // Blocks of whole slivers, balanced, several per worker; the panel of one block ≤ PanelFloats.
                int slivers = (k + nr - 1) / nr;
                int maxPer = Math.Max(1, PanelFloats / (step * nr));
                // Stryker disable once Conditional : equivalent, the worker count only sizes the blocks, and each dw column's sum is the same in any block
                int workers = parallel ? Threading.Threads : 1;
                int blocks = Math.Max((slivers + maxPer - 1) / maxPer, Math.Min(slivers, 4 * workers));
                // A multiple of the worker count (equal shares; 9 blocks on 2 workers idled one for a ninth).
                blocks = Math.Min(slivers, (blocks + workers - 1) / workers * workers);
                job.Blocks = blocks;
                Threading.For(blocks, parallel, job.Block);
            }
        }
        finally
        {
            // Stryker disable once Statement : equivalent, a buffer not returned to the pool is only collected
            ArrayPool<float>.Shared.Return(dyPack);
            // Stryker disable once Statement : equivalent, as above
            ArrayPool<float>.Shared.Return(xpad);
            // Stryker disable once Statement : equivalent, as above
            ArrayPool<int>.Shared.Return(offs);
        }
    }

    /// <summary>off[r]: tap r = (ci, kh, kw) relative to a window origin in the padded image; idx[q]: pixel q's origin.</summary>
    private static void Offsets(ConvGeometry g, int* off, int* idx)
    {
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW, r = 0;
        for (int ci = 0; ci < g.Cin; ci++)
            for (int kh = 0; kh < g.Kh; kh++)
                for (int kw = 0; kw < g.Kw; kw++, r++)
                    off[r] = (ci * hp + kh * g.DilationH) * wp + kw * g.DilationW;
        Im2Col.PaddedOffsets(g, idx);
    }

    private sealed class Job(GemmKernels.Kernel kern, ConvGeometry g, float* x, float* dy, float* dw,
        float* dyPack, float* xpad, int* off, int* idx, int step)
    {
        public int Blocks;
        private readonly int pix = g.Ho * g.Wo, p = g.N * g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw;
        private readonly long rowsPadded = (g.Cout + kern.MR - 1) / kern.MR * kern.MR;
        private readonly long imgP = Im2Col.PaddedImageSize(g);

        public void Pad(int n) => Im2Col.PadImage(g, x + (long)n * g.Cin * g.H * g.W, xpad + n * imgP);

        /// <summary>Rows co0..co0+MR−1 of dY[Cout, P] in the packed-A layout of <see cref="Gemm.PackAllA"/>, every K chunk.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackDy(int s)
        {
            int mr = kern.MR, co0 = s * mr, rows = Math.Min(mr, g.Cout - co0);
            long outSize = (long)g.Cout * pix;
            for (int p0 = 0; p0 < p; p0 += step)
            {
                int kc = Math.Min(step, p - p0);
                float* dst = dyPack + rowsPadded * p0 + (long)co0 * kc;
                // Stryker disable once Equality,Boolean : equivalent, the rows past Cout are products the merge drops (zeroed so stale scratch stays finite)
                if (rows < mr) new Span<float>(dst, kc * mr).Clear();
                int n = p0 / pix, q = p0 % pix;
                for (int pp = 0; pp < kc; pp++)
                {
                    float* src = dy + n * outSize + (long)co0 * pix + q;
                    float* d = dst + pp * mr;
                    for (int r = 0; r < rows; r++) d[r] = src[(long)r * pix];
                    if (++q == pix) { q = 0; n++; }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Block(int b)
        {
            int mr = kern.MR, nr = kern.NR, slivers = (k + nr - 1) / nr;
            int s0 = (int)((long)b * slivers / Blocks), s1 = (int)((long)(b + 1) * slivers / Blocks);
            // Stryker disable once Statement : equivalent, an empty block has no columns (cols = 0), so it does no work either way
            if (s1 <= s0) return;
            int c0 = s0 * nr, cols = Math.Min(k, s1 * nr) - c0;
            float* panel = Scratch.Get(Scratch.GemmB, (long)step * (s1 - s0) * nr);
            float* tile = stackalloc float[mr * nr];
            for (int p0 = 0; p0 < p; p0 += step)
            {
                int kc = Math.Min(step, p - p0), mode = p0 > 0 ? 1 : 0;
                Lower(p0, kc, c0, s1 - s0, panel);
                for (int i = 0; i < g.Cout; i += mr)
                {
                    int h = Math.Min(mr, g.Cout - i);
                    float* ap = dyPack + rowsPadded * p0 + (long)i * kc;
                    float* cRow = dw + (long)i * k + c0;
                    for (int j = 0; j < cols; j += nr)
                    {
                        int w = Math.Min(nr, cols - j);
                        float* bs = panel + (long)(j / nr) * kc * nr;
                        if (h == mr && w == nr)
                            kern.Run(kc, ap, bs, cRow + j, k, mode, 0f);
                        else
                        {
                            kern.Run(kc, ap, bs, tile, nr, 0, 0f);
                            GemmKernels.Merge(tile, nr, cRow + j, k, h, w, mode, 0f);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Packed-B panel of colsᵀ: pixels p0..p0+kc−1 (rows) × taps c0.. (nsl slivers of NR, zero past K).
        /// A kernel row's taps (Kw ≤ 4, no dilation, slivers made of whole rows) are adjacent floats of the
        /// padded image, copied as one 4-float vector each; the next row's copy overwrites the spare lanes,
        /// and a sliver's last rows, whose spare lanes would spill past it, are copied float by float.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Lower(int p0, int kc, int c0, int nsl, float* panel)
        {
            int nr = kern.NR;
            // A kernel row's taps as one vector copy needs these; the scalar level copies float by float (the same values).
            bool rowRuns = g.Kw <= 4 && g.DilationW == 1 && nr % g.Kw == 0;
            // Stryker disable once Equality : equivalent, which levels copy by vectors and which float by float changes no value
            int run = kern.Isa != IsaLevel.Scalar && rowRuns ? g.Kw : 0;
            long sliverStride = (long)kc * nr;
            int n = p0 / pix, q = p0 % pix;
            for (int pp = 0; pp < kc; pp++)
            {
                float* src = xpad + n * imgP + idx[q];
                float* d = panel + (long)pp * nr;
                for (int s = 0; s < nsl; s++, d += sliverStride)
                {
                    int cs = c0 + s * nr, w = Math.Min(nr, k - cs);
                    int* o = off + cs;
                    if (run > 0 && w == nr)
                    {
                        int j = 0;
                        // Stryker disable once Equality : equivalent, a vector copy skipped is done by the float loop below
                        for (; j + 4 <= nr; j += run) Vector128.Store(Vector128.Load(src + o[j]), d + j);
                        for (; j < nr; j++) d[j] = src[o[j]];
                    }
                    else
                    {
                        int j = 0;
                        for (; j < w; j++) d[j] = src[o[j]];
                        for (; j < nr; j++) d[j] = 0f;
                    }
                }
                if (++q == pix) { q = 0; n++; }
            }
        }
    }
}
