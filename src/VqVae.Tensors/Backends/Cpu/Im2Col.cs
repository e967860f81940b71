using System.Runtime.CompilerServices;
namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Lowering between one image and its column matrix: row r = (ci, kh, kw) of the kernel window,
/// column = output pixel (oh, ow). Several images sit side by side in one matrix (ld = row stride),
/// so one GEMM covers a group of images.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>
    /// Floats the whole-row paths may read past the padded image (lowering) or the column matrix (scatter):
    /// callers allocate that much room at every level, whichever path runs.
    /// </summary>
    public const int Slack = WindowRows.Slack;

    /// <summary>Output columns ow whose input column ow·stride + off lies in [0, size): [lo, hi).</summary>
    private static (int lo, int hi) Valid(int off, int stride, int size, int outSize)
    {
        // ow ≥ ceil(−off / stride) and ow ≤ floor((size − 1 − off) / stride)
        int lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int hiIncl = size - 1 - off;
        int hi = hiIncl < 0 ? 0 : hiIncl / stride + 1;
        return (Math.Min(lo, outSize), Math.Clamp(hi, Math.Min(lo, outSize), outSize));
    }

    /// <summary>One kernel tap (kh, kw): its input offsets and the output rows and columns it sees inside the image.</summary>
    private readonly record struct Tap(int OffH, int OffW, int OhLo, int OhHi, int OwLo, int OwHi);

    /// <summary>The taps of g in (kh, kw) order, the order of the column matrix's rows for each input channel.</summary>
    /// <remarks>Shared by <see cref="Lower"/> and its adjoint <see cref="Raise"/>, so the two walk the same rows.</remarks>
    private static void FillTaps(ConvGeometry g, Span<Tap> taps)
    {
        int t = 0;
        for (int kh = 0; kh < g.Kh; kh++)
        {
            int offH = kh * g.DilationH - g.PadH;
            var (ohLo, ohHi) = Valid(offH, g.StrideH, g.H, g.Ho);
            for (int kw = 0; kw < g.Kw; kw++)
            {
                int offW = kw * g.DilationW - g.PadW;
                var (owLo, owHi) = Valid(offW, g.StrideW, g.W, g.Wo);
                taps[t++] = new Tap(offH, offW, ohLo, ohHi, owLo, owHi);
            }
        }
    }

    // Small kernels keep their taps on the stack; a huge one (never in a model) on the heap.
    private static Span<Tap> TapBuffer(ConvGeometry g, Span<Tap> stack) =>
        g.Kh * g.Kw <= stack.Length ? stack[..(g.Kh * g.Kw)] : new Tap[g.Kh * g.Kw];

    /// <summary>cols[r, 0..Ho·Wo) for image x ([Cin,H,W]); zero where the window hangs over padding.</summary>
    /// <remarks>The model's rows are short (Wo = 7 or 14): geometry is hoisted into locals and rows are
    /// copied by plain loops, since a Memmove call per 7 floats cost more than the copy.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Lower(ConvGeometry g, float* x, float* cols, long ld)
    {
        int ho = g.Ho, wo = g.Wo, h = g.H, w = g.W, sH = g.StrideH, sW = g.StrideW;
        var taps = TapBuffer(g, stackalloc Tap[64]);
        FillTaps(g, taps);
        long r = 0;
        for (int ci = 0; ci < g.Cin; ci++)
            foreach (var (offH, offW, ohLo, ohHi, owLo, owHi) in taps)
            {
                float* dst = cols + r++ * ld;
                for (int q = 0; q < ohLo * wo; q++) dst[q] = 0f;
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* d = dst + oh * wo;
                    float* src = x + ((long)ci * h + oh * sH + offH) * w + offW;
                    for (int ow = 0; ow < owLo; ow++) d[ow] = 0f;
                    if (sW == 1)
                        for (int ow = owLo; ow < owHi; ow++) d[ow] = src[ow];
                    else
                        for (int ow = owLo; ow < owHi; ow++) d[ow] = src[ow * sW];
                    for (int ow = owHi; ow < wo; ow++) d[ow] = 0f;
                }
                for (int q = ohHi * wo; q < ho * wo; q++) dst[q] = 0f;
            }
    }

    /// <summary>Whether every window of g lies inside the zero-padded image (true for any Ho, Wo up to the usual output size).</summary>
    public static bool FitsPadded(ConvGeometry g) =>
        (long)(g.Ho - 1) * g.StrideH + (long)(g.Kh - 1) * g.DilationH < g.H + 2L * g.PadH &&
        (long)(g.Wo - 1) * g.StrideW + (long)(g.Kw - 1) * g.DilationW < g.W + 2L * g.PadW;

    /// <summary>Floats of the zero-padded copy of one image that <see cref="PadImage"/> writes.</summary>
    public static long PaddedImageSize(ConvGeometry g) => (long)g.Cin * (g.H + 2 * g.PadH) * (g.W + 2 * g.PadW);

    /// <summary>xpad ← image x ([Cin,H,W]) inside a zero border of PadH/PadW (<see cref="PaddedImageSize"/> floats).</summary>
    public static void PadImage(ConvGeometry g, float* x, float* xpad)
    {
        int h = g.H, w = g.W, wp = w + 2 * g.PadW;
        long planeP = (long)(h + 2 * g.PadH) * wp;
        new Span<float>(xpad, checked((int)PaddedImageSize(g))).Clear();
        for (int ci = 0; ci < g.Cin; ci++)
            for (int ih = 0; ih < h; ih++)
                new ReadOnlySpan<float>(x + ((long)ci * h + ih) * w, w)
                    .CopyTo(new Span<float>(xpad + ci * planeP + (long)(ih + g.PadH) * wp + g.PadW, w));
    }

    /// <summary>
    /// Rows p0..p0+kc−1 of the lowering of <paramref name="count"/> images side by side (padded copies imgP apart, image j's
    /// pixels from panel column j·Ho·Wo) as one packed-B K chunk; see <see cref="LowerPackedRows"/> for the layout.
    /// At <see cref="IsaLevel.Avx2"/> (and at AVX-512 where its window rows do not apply) tap by tap over all images
    /// with <see cref="Avx2Rows"/>, at <see cref="IsaLevel.Vector128"/> with <see cref="Vector128Rows"/> (whole-register
    /// stores that rely on that order); else image by image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerPackedImages(IsaLevel isa, ConvGeometry g, float* xpad, long imgP, int count, int* idx, float* panel, int p0, int kc, int nr)
    {
        int pix = g.Ho * g.Wo;
        // Stryker disable once Unary : equivalent, the 256-bit rows, the window rows and the plain loops give the same bits
        bool rows2 = isa == IsaLevel.Avx2 || (isa == IsaLevel.Avx512 && !WindowRows.Applies(g));
        if (rows2 && Avx2Rows.LowerApplies(g, nr, count))
        {
            int taps = g.Kh * g.Kw, wp = g.W + 2 * g.PadW;
            long planeP = (long)(g.H + 2 * g.PadH) * wp;
            var plan = stackalloc Avx2Rows.Segment[Avx2Rows.Segments(g, count)];
            int segments = Avx2Rows.Plan(g, count, imgP, nr, (long)kc * nr, wp, plan);
            bool stride2 = g.StrideW == 2;
            for (int r = p0; r < p0 + kc; r++)
            {
                int ci = r / taps, t = r - ci * taps, kh = t / g.Kw, kw = t - kh * g.Kw;
                float* src = xpad + ci * planeP + (long)kh * g.DilationH * wp + kw * g.DilationW;
                Avx2Rows.LowerTap(src, panel + (long)(r - p0) * nr, plan, segments, nr, stride2, lastRow: r == p0 + kc - 1);
            }
            return;
        }
        // Stryker disable once Equality : equivalent, the 128-bit rows run on every level and give the plain loops' bits
        if (isa == IsaLevel.Vector128 && Vector128Rows.LowerApplies(g, nr, count))
        {
            int taps = g.Kh * g.Kw, wp = g.W + 2 * g.PadW;
            long planeP = (long)(g.H + 2 * g.PadH) * wp;
            var plan = stackalloc Vector128Rows.Segment[Vector128Rows.MaxSegmentsOf(g, count, nr)];
            int segments = Vector128Rows.Plan(g, count, imgP, nr, (long)kc * nr, wp, plan);
            bool stride2 = g.StrideW == 2;
            for (int r = p0; r < p0 + kc; r++)
            {
                int ci = r / taps, t = r - ci * taps, kh = t / g.Kw, kw = t - kh * g.Kw;
                float* src = xpad + ci * planeP + (long)kh * g.DilationH * wp + kw * g.DilationW;
                Vector128Rows.LowerTap(src, panel + (long)(r - p0) * nr, plan, segments, nr, stride2, lastRow: r == p0 + kc - 1);
            }
            // Stryker disable once Statement : equivalent, without it the plain loops below write the same panel again, the same bits
            return;
        }
        for (int j = 0; j < count; j++)
            LowerPackedRows(isa, g, xpad + j * imgP, idx, panel, p0, kc, nr, j * pix);
    }

    /// <summary>
    /// Rows p0..p0+kc−1 of one image's lowering (from its padded copy, <see cref="PadImage"/>) as one packed-B
    /// K chunk: row r − p0, column q0 + q at ((q0 + q) / nr)·kc·nr + (r − p0)·nr + (q0 + q) % nr.
    /// The path follows <paramref name="isa"/>: at <see cref="IsaLevel.Avx512"/> whole output rows at a time
    /// (<see cref="WindowRows"/>), reading up to <see cref="Slack"/> floats past the padded image; plain loops
    /// otherwise. All paths give the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerPackedRows(IsaLevel isa, ConvGeometry g, float* xpad, int* idx, float* panel, int p0, int kc, int nr, int q0)
    {
        int pix = g.Ho * g.Wo, taps = g.Kh * g.Kw, wp = g.W + 2 * g.PadW;
        long planeP = (long)(g.H + 2 * g.PadH) * wp, sliverStride = (long)kc * nr;
        if (isa == IsaLevel.Avx512 && WindowRows.Applies(g))
        {
            var pick = WindowRows.PickIndices(g);
            var plan = stackalloc WindowRows.RowTarget[g.Ho];
            WindowRows.PlanRows(g, q0, nr, sliverStride, plan);
            for (int r = p0; r < p0 + kc; r++)
            {
                int ci = r / taps, t = r - ci * taps, kh = t / g.Kw, kw = t - kh * g.Kw;
                float* src = xpad + ci * planeP + (long)kh * g.DilationH * wp + kw * g.DilationW;
                WindowRows.LowerTap(g, src, wp, pick, panel + (long)(r - p0) * nr, plan);
            }
            // Stryker disable once Statement : equivalent, without it the plain loops below write the same panel again, the same bits
            return;
        }
        for (int r = p0; r < p0 + kc; r++)
        {
            int ci = r / taps, t = r - ci * taps, kh = t / g.Kw, kw = t - kh * g.Kw;
            float* src = xpad + ci * planeP + (long)kh * g.DilationH * wp + kw * g.DilationW;
            float* dp = panel + (long)(r - p0) * nr + (long)(q0 / nr) * sliverStride;
            int col = q0 % nr;
            for (int q = 0; q < pix;)
            {
                int run = Math.Min(pix - q, nr - col);
                float* d = dp + col;
                int* ix = idx + q;
                for (int u = 0; u < run; u++) d[u] = src[ix[u]];
                q += run;
                col += run;
                if (col == nr) { col = 0; dp += sliverStride; }
            }
        }
    }

    /// <summary>idx[q] = offset of output pixel q's window origin in the zero-padded image (row stride W + 2·PadW).</summary>
    public static void PaddedOffsets(ConvGeometry g, int* idx)
    {
        int wp = g.W + 2 * g.PadW;
        for (int oh = 0, q = 0; oh < g.Ho; oh++)
            for (int ow = 0; ow < g.Wo; ow++, q++)
                idx[q] = oh * g.StrideH * wp + ow * g.StrideW;
    }

    /// <summary>
    /// dx ([Cin,H,W]) = the adjoint of <see cref="Lower"/> applied to cols, overwriting dx: scatter-adds into
    /// a zero-bordered buffer (dxpad, <see cref="PaddedImageSize"/>) through the shared offset table
    /// (<see cref="PaddedOffsets"/>), branch-free, then copies the interior out. Each element receives
    /// its terms in the same (ci, kh, kw) order as <see cref="Raise"/>, so the bits are the same.
    /// Needs <see cref="FitsPadded"/>. The path follows <paramref name="isa"/>: at <see cref="IsaLevel.Avx512"/> whole
    /// output rows at a time (<see cref="WindowRows"/>), at <see cref="IsaLevel.Avx2"/> (or where those do not apply)
    /// rows of up to 4 registers (<see cref="Avx2Rows"/>), at <see cref="IsaLevel.Vector128"/> rows of 4-float
    /// registers (<see cref="Vector128Rows"/>), reading up to <see cref="Slack"/> floats past the column matrix
    /// and the padded image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RaisePadded(IsaLevel isa, ConvGeometry g, float* cols, long ld, float* dx, float* dxpad, int* idx)
    {
        new Span<float>(dxpad, checked((int)PaddedImageSize(g))).Clear();
        ScatterTaps(isa, g, cols, ld, dxpad, idx, 0, g.Cin * g.Kh * g.Kw);
        CopyInterior(g, dxpad, dx);
    }

    /// <summary>
    /// dxpad (a zero-bordered image, <see cref="PaddedImageSize"/>) += taps r0..r1−1 of the adjoint of <see cref="Lower"/>,
    /// from cols rows 0..r1−r0−1 (row stride ld), in tap order; the path follows <paramref name="isa"/> (see <see cref="RaisePadded"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterTaps(IsaLevel isa, ConvGeometry g, float* cols, long ld, float* dxpad, int* idx, int r0, int r1)
    {
        int pix = g.Ho * g.Wo, taps = g.Kh * g.Kw, wp = g.W + 2 * g.PadW;
        long planeP = (long)(g.H + 2 * g.PadH) * wp;
        bool window = isa == IsaLevel.Avx512 && WindowRows.ScatterApplies(g);
        var (indexLo, maskLo) = window ? WindowRows.ScatterLanes(g, 0) : default;
        var (indexHi, maskHi) = window ? WindowRows.ScatterLanes(g, 1) : default;
        bool rows2 = !window && isa >= IsaLevel.Avx2 && Avx2Rows.ScatterApplies(g);
        var lanes2 = rows2 ? Avx2Rows.Lanes(g) : default;
        bool rows128 = isa == IsaLevel.Vector128 && Vector128Rows.ScatterApplies(g);
        var lanes128 = rows128 ? Vector128Rows.Lanes(g) : default;
        for (int r = r0; r < r1; r++)
        {
            int ci = r / taps, t = r - ci * taps, kh = t / g.Kw, kw = t - kh * g.Kw;
            float* d = dxpad + ci * planeP + (long)kh * g.DilationH * wp + kw * g.DilationW;
            float* s = cols + (r - r0) * ld;
            if (window) WindowRows.ScatterAddTap(g, s, d, wp, indexLo, maskLo, indexHi, maskHi);
            else if (rows2) Avx2Rows.ScatterAddTap(g, s, d, wp, lanes2);
            else if (rows128) Vector128Rows.ScatterAddTap(g, s, d, wp, ref lanes128);
            else for (int q = 0; q < pix; q++) d[idx[q]] += s[q];
        }
    }

    /// <summary>dx ([Cin,H,W]) ← the interior of the zero-bordered dxpad.</summary>
    public static void CopyInterior(ConvGeometry g, float* dxpad, float* dx)
    {
        int h = g.H, w = g.W, wp = w + 2 * g.PadW;
        long planeP = (long)(h + 2 * g.PadH) * wp;
        for (int ci = 0; ci < g.Cin; ci++)
            for (int ih = 0; ih < h; ih++)
            {
                float* src = dxpad + ci * planeP + (long)(ih + g.PadH) * wp + g.PadW;
                float* dst = dx + ((long)ci * h + ih) * w;
                for (int iw = 0; iw < w; iw++) dst[iw] = src[iw];
            }
    }

    /// <summary>
    /// The transpose of <see cref="Lower"/>: row q = output pixel, column r = (ci, kh, kw), so a GEMM
    /// can read it as a non-transposed B (contiguous packing) when it is the reduction-side operand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerTransposed(ConvGeometry g, float* x, float* colsT, long ld)
    {
        int wo = g.Wo, kWidth = g.Kw, kH = g.Kh, h = g.H, w = g.W, cin = g.Cin;
        int sH = g.StrideH, sW = g.StrideW, padH = g.PadH, padW = g.PadW, dH = g.DilationH, dW = g.DilationW;
        long plane = (long)h * w;
        for (int oh = 0; oh < g.Ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        {
            float* d = colsT + (oh * (long)wo + ow) * ld;
            int iw0 = ow * sW - padW;
            // Interior pixels (the whole kernel row inside the image, no dilation) copy each kernel
            // row as one short run with no per-tap bounds checks: most taps of the model's layers.
            bool dense = dW == 1 && iw0 >= 0 && iw0 + kWidth <= w;
            for (int ci = 0; ci < cin; ci++)
            {
                float* xc = x + ci * plane;
                for (int kh = 0; kh < kH; kh++, d += kWidth)
                {
                    int ih = oh * sH - padH + kh * dH;
                    if ((uint)ih >= (uint)h)
                    {
                        for (int kw = 0; kw < kWidth; kw++) d[kw] = 0f;
                        continue;
                    }
                    float* row = xc + (long)ih * w;
                    if (dense)
                    {
                        float* src = row + iw0;
                        if (kWidth == 4) Unsafe.CopyBlockUnaligned(d, src, 16);
                        else for (int kw = 0; kw < kWidth; kw++) d[kw] = src[kw];
                    }
                    else
                        for (int kw = 0, iw = iw0; kw < kWidth; kw++, iw += dW)
                            d[kw] = (uint)iw < (uint)w ? row[iw] : 0f;
                }
            }
        }
    }

    /// <summary>dx ([Cin,H,W], already zeroed) += the adjoint of <see cref="Lower"/> applied to cols.</summary>
    /// <remarks>Each dx element receives its terms in (kh, kw) order, whatever the grouping or thread.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Raise(ConvGeometry g, float* cols, long ld, float* dx)
    {
        int wo = g.Wo, h = g.H, w = g.W, sH = g.StrideH, sW = g.StrideW;
        var taps = TapBuffer(g, stackalloc Tap[64]);
        FillTaps(g, taps);
        long r = 0;
        for (int ci = 0; ci < g.Cin; ci++)
            foreach (var (offH, offW, ohLo, ohHi, owLo, owHi) in taps)
            {
                float* src = cols + r++ * ld;
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* s = src + oh * wo;
                    float* d = dx + ((long)ci * h + oh * sH + offH) * w + offW;
                    if (sW == 1)
                        for (int ow = owLo; ow < owHi; ow++) d[ow] += s[ow];
                    else
                        for (int ow = owLo; ow < owHi; ow++) d[ow * sW] += s[ow];
                }
            }
    }
}
