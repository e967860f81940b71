using System.Runtime.CompilerServices;
using System.Buffers;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// 2-D convolution kernels, NCHW, PyTorch weight layout [Cout,Cin,Kh,Kw], lowered onto
/// <see cref="Gemm"/>: a group of images is unfolded side by side into one column matrix
/// (K = Cin·Kh·Kw rows, G·Ho·Wo columns) so each GEMM is wide enough for the register tiles.
/// The three kernels also give the transposed convolution: its forward is BackwardInput,
/// its input gradient is Forward, its weight gradient is BackwardWeight with the roles swapped.
/// </summary>
/// <remarks>
/// Determinism: Forward and BackwardInput write each image from one GEMM whose reduction (over K,
/// resp. Cout) is fixed, so grouping and threads do not change bits. BackwardWeight sums each
/// weight element over the whole batch in one thread, in the GEMM's fixed K-chunk order (see
/// WeightGradientColumns; few-tap layers use fixed image groups added in order).
/// </remarks>
internal static unsafe class ConvKernels
{
    /// <summary>y[N,Cout,Ho,Wo] = conv(x[N,Cin,H,W], w) + bias (bias may be empty). Overwrites y.</summary>
    public static void Forward(ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        Validate(g);
        CheckInput(g, x.Length, nameof(x), "input");
        CheckWeight(g, w.Length, nameof(w), "weight");
        if (!bias.IsEmpty) Checks.Length(bias.Length, g.Cout, nameof(bias), $"bias [{g.Cout}]");
        CheckOutput(g, y.Length, nameof(y), "output");
        // The weight is the GEMM's A for every image group: pack it once for all of them.
        // One kernel (ISA level) for the whole call: the packed layouts depend on its tile shape.
        var kern = GemmKernels.Current;
        int k = g.Cin * g.Kh * g.Kw;
        float[] packed = ArrayPool<float>.Shared.Rent((int)Math.Max(1, Gemm.PackedASize(kern, g.Cout, k)));
        try
        {
            fixed (float* px = x, pw = w, pb = bias, py = y, pa = packed)
            {
                Gemm.PackAllA(kern, false, g.Cout, k, 1f, pw, k, pa, parallel: true);
                var job = new ForwardJob(kern, g, px, pw, bias.IsEmpty ? null : pb, py, pa);
                Threading.For(job.Groups, true, job.Run);
            }
        }
        finally { ArrayPool<float>.Shared.Return(packed); }
    }

    /// <summary>dx[N,Cin,H,W] = adjoint of Forward applied to dy[N,Cout,Ho,Wo]. Overwrites dx.</summary>
    public static void BackwardInput(ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        Validate(g);
        CheckOutput(g, dy.Length, nameof(dy), "output gradient");
        CheckWeight(g, w.Length, nameof(w), "weight");
        CheckInput(g, dx.Length, nameof(dx), "input gradient");
        // wᵀ is the GEMM's A for every image group: pack it once for all of them.
        var kern = GemmKernels.Current;
        int k = g.Cin * g.Kh * g.Kw;
        float[] packed = ArrayPool<float>.Shared.Rent((int)Math.Max(1, Gemm.PackedASize(kern, k, g.Cout)));
        try
        {
            fixed (float* pdy = dy, pw = w, pdx = dx, pa = packed)
            {
                Gemm.PackAllA(kern, true, k, g.Cout, 1f, pw, k, pa, parallel: true);
                var job = new BackwardInputJob(kern, g, pdy, pw, pdx, pa);
                Threading.For(job.Groups, true, job.Run);
            }
        }
        finally { ArrayPool<float>.Shared.Return(packed); }
    }

    /// <summary>dw[Cout,Cin,Kh,Kw] = gradient of Forward's output · dy with respect to w. Overwrites dw.</summary>
    public static void BackwardWeight(ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        Validate(g);
        CheckInput(g, x.Length, nameof(x), "input");
        CheckOutput(g, dy.Length, nameof(dy), "output gradient");
        CheckWeight(g, dw.Length, nameof(dw), "weight gradient");
        fixed (float* px = x, pdy = dy, pdw = dw)
            WeightGradient.Run(g, px, pdy, pdw);
    }

    // Span lengths of the three operand shapes, named in the error as "<what> [dims]".
    private static void CheckInput(ConvGeometry g, int length, string name, string what) =>
        Checks.Length(length, (long)g.N * g.Cin * g.H * g.W, name, $"{what} [{g.N},{g.Cin},{g.H},{g.W}]");

    private static void CheckWeight(ConvGeometry g, int length, string name, string what) =>
        Checks.Length(length, (long)g.Cout * g.Cin * g.Kh * g.Kw, name, $"{what} [{g.Cout},{g.Cin},{g.Kh},{g.Kw}]");

    private static void CheckOutput(ConvGeometry g, int length, string name, string what) =>
        Checks.Length(length, (long)g.N * g.Cout * g.Ho * g.Wo, name, $"{what} [{g.N},{g.Cout},{g.Ho},{g.Wo}]");

    internal static void Validate(ConvGeometry g)
    {
        ArgumentNullException.ThrowIfNull(g);
        Checks.NonNegative(g.N, "g.N");
        Checks.Positive(g.Cin, "g.Cin");
        Checks.NonNegative(g.H, "g.H");
        Checks.NonNegative(g.W, "g.W");
        Checks.Positive(g.Cout, "g.Cout");
        Checks.Positive(g.Kh, "g.Kh");
        Checks.Positive(g.Kw, "g.Kw");
        Checks.Positive(g.StrideH, "g.StrideH");
        Checks.Positive(g.StrideW, "g.StrideW");
        Checks.NonNegative(g.PadH, "g.PadH");
        Checks.NonNegative(g.PadW, "g.PadW");
        Checks.Positive(g.DilationH, "g.DilationH");
        Checks.Positive(g.DilationW, "g.DilationW");
        Checks.NonNegative(g.Ho, "g.Ho");
        Checks.NonNegative(g.Wo, "g.Wo");
        if ((long)g.Cin * g.Kh * g.Kw > int.MaxValue / 4 || (long)g.Ho * g.Wo > int.MaxValue / 4)
            throw new ArgumentException($"Convolution geometry too large: {g}.", nameof(g));
    }

    /// <summary>
    /// Images per GEMM for Forward/BackwardInput: wide enough (≈512 columns) for the register tiles,
    /// small enough for the column matrix to stay near cache, and enough groups to feed every worker.
    /// Only affects speed, never bits.
    /// </summary>
    internal static int GroupSize(ConvGeometry g)
    {
        long pix = (long)g.Ho * g.Wo, rows = (long)g.Cin * g.Kh * g.Kw;
        if (g.N == 0 || pix == 0) return 1;
        int threads = Threading.Threads;
        long groups = Math.Max((g.N * pix + 511) / 512, threads);
        groups = (groups + threads - 1) / threads * threads;
        int nb = (int)Math.Max(1, (g.N + groups - 1) / groups);
        long maxByMemory = Math.Max(1, (1L << 21) / Math.Max(1, rows * pix));
        return (int)Math.Min(nb, maxByMemory);
    }

    private sealed class ForwardJob(GemmKernels.Kernel kern, ConvGeometry g, float* x, float* w, float* bias, float* y, float* packedW)
    {
        private readonly int nb = GroupSize(g);
        public int Groups => g.N == 0 ? 0 : (g.N + nb - 1) / nb;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int group)
        {
            int n0 = group * nb, count = Math.Min(nb, g.N - n0);
            int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw, ld = count * pix;
            long inSize = (long)g.Cin * g.H * g.W, outSize = (long)g.Cout * pix;
            if (pix == 0) return;
            float* acc = Scratch.Get(Scratch.Aux, (long)g.Cout * ld);
            if (!Im2Col.FitsPadded(g))
            {
                // A caller-given output size past the usual one: the range-checked lowering.
                float* cols = Scratch.Get(Scratch.Cols, (long)k * ld);
                for (int j = 0; j < count; j++)
                    Im2Col.Lower(g, x + (n0 + j) * inSize, cols + j * pix, ld);
                Gemm.Run(kern, false, false, g.Cout, ld, k, 1f, w, k, cols, ld, 0f, acc, ld, parallel: false, packedA: packedW);
            }
            else
                LowerAndMultiply(n0, count, acc);
            for (int j = 0; j < count; j++)
            {
                float* yn = y + (n0 + j) * outSize;
                for (int co = 0; co < g.Cout; co++)
                {
                    var src = new ReadOnlySpan<float>(acc + (long)co * ld + j * pix, pix);
                    var dst = new Span<float>(yn + (long)co * pix, pix);
                    if (bias == null) src.CopyTo(dst);
                    else System.Numerics.Tensors.TensorPrimitives.Add(src, bias[co], dst);
                }
            }
        }

        /// <summary>
        /// acc[Cout, count·pix] = w · cols, lowered one K chunk at a time straight into a packed-B panel
        /// (≈0.5 MB) that the chunk's GEMM then reads from L2, instead of lowering all of K (MBs, via L3) first.
        /// </summary>
        /// <remarks>
        /// Bits: chunk p0 is a GEMM of depth kc ≤ KC (one chunk) into acc with beta 0 for the first chunk and
        /// 1 after, which is exactly how one GEMM over all of K adds its chunks (mode 0, then mode 1).
        /// </remarks>
        private void LowerAndMultiply(int n0, int count, float* acc)
        {
            int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw, ld = count * pix;
            long inSize = (long)g.Cin * g.H * g.W, imgP = Im2Col.PaddedImageSize(g);
            long rowsPadded = (g.Cout + kern.MR - 1) / kern.MR * kern.MR;
            int nr = kern.NR, step = Gemm.ChunkDepth(k);
            long nPadded = (ld + nr - 1) / nr * nr;
            float* panel = Scratch.Get(Scratch.Cols, step * nPadded);
            float* xpad = Scratch.Get(Scratch.Out, count * imgP + Im2Col.Slack + pix);
            int* idx = (int*)(xpad + count * imgP + Im2Col.Slack);
            Im2Col.PaddedOffsets(g, idx);
            for (int j = 0; j < count; j++)
                Im2Col.PadImage(g, x + (n0 + j) * inSize, xpad + j * imgP);
            for (int p0 = 0; p0 < k; p0 += step)
            {
                int kc = Math.Min(step, k - p0);
                Im2Col.LowerPackedImages(kern.Isa, g, xpad, imgP, count, idx, panel, p0, kc, nr);
                ZeroPadColumns(panel, kc, ld, nPadded, kc, nr);
                Gemm.Run(kern, false, false, g.Cout, ld, kc, 1f, w + p0, k, null, ld, p0 == 0 ? 0f : 1f, acc, ld,
                    parallel: false, packedA: packedW + rowsPadded * p0, packedB: panel);
            }
        }
    }

    private sealed class BackwardInputJob(GemmKernels.Kernel kern, ConvGeometry g, float* dy, float* w, float* dx, float* packedWt)
    {
        private readonly int nb = GroupSize(g);
        public int Groups => g.N == 0 ? 0 : (g.N + nb - 1) / nb;

        public void Run(int group)
        {
            int n0 = group * nb, count = Math.Min(nb, g.N - n0);
            int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw, ld = count * pix;
            long inSize = (long)g.Cin * g.H * g.W;
            if (pix == 0)
            {
                new Span<float>(dx + n0 * inSize, checked((int)(count * inSize))).Clear();
                return;
            }
            if (Im2Col.FitsPadded(g) && g.Cout <= Gemm.KC)
            {
                RunBlocked(n0, count);
                return;
            }
            float* dyg = Scratch.Get(Scratch.Aux, (long)g.Cout * ld);
            float* cols = Scratch.Get(Scratch.Cols, (long)k * ld + Im2Col.Slack);
            GatherOutput(g, dy, n0, count, dyg);
            // dcols[K, ld] = wᵀ[K, Cout] · dyg[Cout, ld]
            Gemm.Run(kern, true, false, k, ld, g.Cout, 1f, w, k, dyg, ld, 0f, cols, ld, parallel: false, packedA: packedWt);
            if (Im2Col.FitsPadded(g))
            {
                float* dxpad = Scratch.Get(Scratch.Out, Im2Col.PaddedImageSize(g) + Im2Col.Slack + pix);
                int* idx = (int*)(dxpad + Im2Col.PaddedImageSize(g) + Im2Col.Slack);
                Im2Col.PaddedOffsets(g, idx);
                for (int j = 0; j < count; j++)
                    Im2Col.RaisePadded(kern.Isa, g, cols + j * pix, ld, dx + (n0 + j) * inSize, dxpad, idx);
            }
            else
            {
                new Span<float>(dx + n0 * inSize, checked((int)(count * inSize))).Clear();
                for (int j = 0; j < count; j++)
                    Im2Col.Raise(g, cols + j * pix, ld, dx + (n0 + j) * inSize);
            }
        }

        /// <summary>Rows of dcols per block: about 96 KB of it, so a block is scattered while it is still in L2.</summary>
        private int BlockRows(int ld) => Math.Max(1, 24 * 1024 / Math.Max(1, ld) / kern.MR) * kern.MR;

        /// <summary>
        /// The column matrix dcols = wᵀ · dyg made and scattered block of taps by block (each block's GEMM rows, then
        /// its scatter into every image's zero-bordered copy), instead of all of dcols (MBs, through L3) first.
        /// </summary>
        /// <remarks>
        /// Bits: with Cout ≤ KC the GEMM has one K chunk, so a block's rows are the same FMA chains as rows of the
        /// whole product; each dx element still receives its terms in tap order (blocks in order).
        /// </remarks>
        private void RunBlocked(int n0, int count)
        {
            int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw, ld = count * pix, nr = kern.NR;
            long inSize = (long)g.Cin * g.H * g.W, imgP = Im2Col.PaddedImageSize(g);
            int block = BlockRows(ld);
            float* dyg = Scratch.Get(Scratch.Aux, (long)g.Cout * ld + Gemm.PackedBSize(kern, g.Cout, ld));
            float* packedDy = dyg + (long)g.Cout * ld;
            float* cols = Scratch.Get(Scratch.Cols, (long)block * ld + Im2Col.Slack);
            float* dxpad = Scratch.Get(Scratch.Out, count * imgP + Im2Col.Slack + pix);
            int* idx = (int*)(dxpad + count * imgP + Im2Col.Slack);
            GatherOutput(g, dy, n0, count, dyg);
            // dyg is the B of every block's GEMM: packed once (one K chunk of depth Cout).
            GemmPacking.PackB(false, dyg, ld, 0, ld, 0, g.Cout, nr, packedDy);
            Im2Col.PaddedOffsets(g, idx);
            new Span<float>(dxpad, checked((int)(count * imgP))).Clear();
            for (int r0 = 0; r0 < k; r0 += block)
            {
                int m = Math.Min(block, k - r0);
                // dcols[r0..r0+m, ld] = wᵀ[r0..r0+m, Cout] · dyg[Cout, ld]
                Gemm.Run(kern, true, false, m, ld, g.Cout, 1f, w + r0, k, null, ld, 0f, cols, ld,
                    parallel: false, packedA: packedWt + (long)r0 * g.Cout, packedB: packedDy);
                for (int j = 0; j < count; j++)
                    Im2Col.ScatterTaps(kern.Isa, g, cols + j * pix, ld, dxpad + j * imgP, idx, r0, r0 + m);
            }
            for (int j = 0; j < count; j++)
                Im2Col.CopyInterior(g, dxpad + j * imgP, dx + (n0 + j) * inSize);
        }
    }

    /// <summary>
    /// Zeroes the packed-B columns ld..nPadded−1 of the last sliver of every K chunk. Their products
    /// land only in discarded scratch lanes, but stale scratch could hold NaNs or denormals.
    /// </summary>
    private static void ZeroPadColumns(float* packed, int k, int ld, long nPadded, int step, int nr)
    {
        int tail = ld % nr;
        if (tail == 0) return;
        long lastSliver = ld / nr;
        for (int p0 = 0; p0 < k; p0 += step)
        {
            int kc = Math.Min(step, k - p0);
            float* s = packed + p0 * nPadded + lastSliver * kc * nr;
            for (int p = 0; p < kc; p++)
                for (int c = tail; c < nr; c++) s[(long)p * nr + c] = 0f;
        }
    }

    /// <summary>dyg[Cout, count·pix] ← images n0..n0+count−1 of dy[N,Cout,pix] side by side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GatherOutput(ConvGeometry g, float* dy, int n0, int count, float* dyg)
    {
        int pix = g.Ho * g.Wo;
        long ld = (long)count * pix, outSize = (long)g.Cout * pix;
        for (int j = 0; j < count; j++)
            for (int co = 0; co < g.Cout; co++)
                new ReadOnlySpan<float>(dy + (n0 + j) * outSize + (long)co * pix, pix)
                    .CopyTo(new Span<float>(dyg + co * ld + (long)j * pix, pix));
    }
}
