using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Weight gradient of a convolution with few kernel taps (<see cref="WeightGradient.FewTaps"/>: a 1-channel image
/// side, K = Cin·Kh·Kw ≤ 16) as dot products: dw[co, r] = Σ_n Σ_q dy[n, co, q] · cols_n[r, q]. Both operands run
/// contiguously along the output pixel q, so neither is transposed into GEMM panels — the GEMM route spent most of
/// its time transposing dy, since K is too small for the multiply to pay for it.
/// </summary>
/// <remarks>
/// Order, the same at every ISA level, thread count and image chunking: each element is summed by one worker as
/// eight FMA chains (lane l: the pixels q ≡ l mod 8 of each image's first ⌊P/8⌋·8, images in order) and a ninth
/// chain over each image's remaining pixels, then combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)) + ninth.
/// The chains' state lives in a buffer between images, so images can be lowered a chunk at a time.
/// </remarks>
internal static unsafe class WeightGradientFewTaps
{
    /// <summary>Floats per weight element's state: eight lanes and the tail chain.</summary>
    private const int StateFloats = 9;

    /// <summary>Output channels per parallel block: their dy rows and one image's columns stay in L1 together.</summary>
    private const int ChannelBlock = 8;

    /// <summary>Column floats lowered per chunk of images (≈4 MB), bounding the scratch for any batch size.</summary>
    private const long ChunkFloats = 1L << 20;

    public static void Run(IsaLevel isa, ConvGeometry g, float* x, float* dy, float* dw)
    {
        int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw;
        int perChunk = (int)Math.Clamp(ChunkFloats / Math.Max(1L, (long)k * pix), 1, Math.Max(1, g.N));
        long colsSize = (long)perChunk * k * pix, stateSize = (long)g.Cout * k * StateFloats;
        if (colsSize > Array.MaxLength || stateSize > Array.MaxLength)
            throw new ArgumentException($"Convolution geometry too large for the weight gradient: {g}.", nameof(g));
        float[] cols = ArrayPool<float>.Shared.Rent((int)Math.Max(1, colsSize));
        float[] state = ArrayPool<float>.Shared.Rent((int)Math.Max(1, stateSize));
        try
        {
            fixed (float* pc = cols, ps = state)
            {
                new Span<float>(ps, (int)stateSize).Clear();
                var job = new Job(isa, g, x, dy, pc, ps, k, pix);
                bool parallel = (long)g.N * g.Cout * k * pix >= Gemm.ParallelThreshold;
                int blocks = (g.Cout + ChannelBlock - 1) / ChannelBlock;
                for (int n0 = 0; n0 < g.N; n0 += perChunk)
                {
                    job.N0 = n0;
                    job.Count = Math.Min(perChunk, g.N - n0);
                    Threading.For(job.Count, parallel, job.Lower);
                    Threading.For(blocks, parallel, job.Block);
                }
                for (int e = 0; e < g.Cout * k; e++) dw[e] = Combine(ps + (long)e * StateFloats);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(cols);
            ArrayPool<float>.Shared.Return(state);
        }
    }

    private static float Combine(float* s) => ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + s[8];

    private sealed class Job(IsaLevel isa, ConvGeometry g, float* x, float* dy, float* cols, float* state, int k, int pix)
    {
        public int N0, Count;

        public void Lower(int j) =>
            Im2Col.Lower(g, x + (long)(N0 + j) * g.Cin * g.H * g.W, cols + (long)j * k * pix, pix);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Block(int b)
        {
            int co0 = b * ChannelBlock, co1 = Math.Min(g.Cout, co0 + ChannelBlock);
            for (int j = 0; j < Count; j++)
            {
                float* cj = cols + (long)j * k * pix;
                for (int co = co0; co < co1; co++)
                {
                    float* d = dy + ((long)(N0 + j) * g.Cout + co) * pix;
                    float* st = state + (long)co * k * StateFloats;
                    int r = 0;
                    if (isa is IsaLevel.Avx512 or IsaLevel.Avx2)
                        for (; r + 4 <= k; r += 4) Quad256(d, cj + (long)r * pix, pix, st + r * StateFloats);
                    else if (isa is IsaLevel.Vector128)
                        for (; r + 4 <= k; r += 4) Quad128(d, cj + (long)r * pix, pix, st + r * StateFloats);
                    for (; r < k; r++) Single(d, cj + (long)r * pix, pix, st + r * StateFloats);
                }
            }
        }
    }

    /// <summary>Four taps' chains (column rows c, c+P, c+2P, c+3P) over one image, 256-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quad256(float* d, float* c, int pix, float* st)
    {
        float* c1 = c + pix, c2 = c1 + pix, c3 = c2 + pix;
        var a0 = Vector256.Load(st); var a1 = Vector256.Load(st + StateFloats);
        var a2 = Vector256.Load(st + 2 * StateFloats); var a3 = Vector256.Load(st + 3 * StateFloats);
        int body = pix & ~7, q = 0;
        for (; q < body; q += 8)
        {
            var dv = Vector256.Load(d + q);
            a0 = Vector256.FusedMultiplyAdd(dv, Vector256.Load(c + q), a0);
            a1 = Vector256.FusedMultiplyAdd(dv, Vector256.Load(c1 + q), a1);
            a2 = Vector256.FusedMultiplyAdd(dv, Vector256.Load(c2 + q), a2);
            a3 = Vector256.FusedMultiplyAdd(dv, Vector256.Load(c3 + q), a3);
        }
        a0.Store(st); a1.Store(st + StateFloats); a2.Store(st + 2 * StateFloats); a3.Store(st + 3 * StateFloats);
        Tails(d, c, pix, body, st, 4);
    }

    /// <summary>As <see cref="Quad256"/> with each eight lanes held as two 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quad128(float* d, float* c, int pix, float* st)
    {
        float* c1 = c + pix, c2 = c1 + pix, c3 = c2 + pix;
        float* s1 = st + StateFloats, s2 = s1 + StateFloats, s3 = s2 + StateFloats;
        Vector128<float> l0 = Vector128.Load(st), h0 = Vector128.Load(st + 4), l1 = Vector128.Load(s1), h1 = Vector128.Load(s1 + 4);
        Vector128<float> l2 = Vector128.Load(s2), h2 = Vector128.Load(s2 + 4), l3 = Vector128.Load(s3), h3 = Vector128.Load(s3 + 4);
        int body = pix & ~7, q = 0;
        for (; q < body; q += 8)
        {
            var dl = Vector128.Load(d + q); var dh = Vector128.Load(d + q + 4);
            l0 = Vector128.FusedMultiplyAdd(dl, Vector128.Load(c + q), l0); h0 = Vector128.FusedMultiplyAdd(dh, Vector128.Load(c + q + 4), h0);
            l1 = Vector128.FusedMultiplyAdd(dl, Vector128.Load(c1 + q), l1); h1 = Vector128.FusedMultiplyAdd(dh, Vector128.Load(c1 + q + 4), h1);
            l2 = Vector128.FusedMultiplyAdd(dl, Vector128.Load(c2 + q), l2); h2 = Vector128.FusedMultiplyAdd(dh, Vector128.Load(c2 + q + 4), h2);
            l3 = Vector128.FusedMultiplyAdd(dl, Vector128.Load(c3 + q), l3); h3 = Vector128.FusedMultiplyAdd(dh, Vector128.Load(c3 + q + 4), h3);
        }
        l0.Store(st); h0.Store(st + 4); l1.Store(s1); h1.Store(s1 + 4);
        l2.Store(s2); h2.Store(s2 + 4); l3.Store(s3); h3.Store(s3 + 4);
        Tails(d, c, pix, body, st, 4);
    }

    /// <summary>One tap's chains over one image, the eight lanes as scalars: the scalar level, and taps left over from fours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Single(float* d, float* c, int pix, float* st)
    {
        int body = pix & ~7;
        for (int q = 0; q < body; q += 8)
            for (int l = 0; l < 8; l++) st[l] = MathF.FusedMultiplyAdd(d[q + l], c[q + l], st[l]);
        Tails(d, c, pix, body, st, 1);
    }

    /// <summary>The ninth chain of <paramref name="taps"/> (1 or 4) consecutive taps: each image's pixels past the last whole eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tails(float* d, float* c, int pix, int body, float* st, int taps)
    {
        if (body == pix) return;
        if (taps == 1)
        {
            float acc = st[8];
            for (int q = body; q < pix; q++) acc = MathF.FusedMultiplyAdd(d[q], c[q], acc);
            st[8] = acc;
            return;
        }
        // Four chains side by side: one after another, their FMA latencies added up to more than the vector body.
        float* c1 = c + pix, c2 = c1 + pix, c3 = c2 + pix;
        float t0 = st[8], t1 = st[8 + StateFloats], t2 = st[8 + 2 * StateFloats], t3 = st[8 + 3 * StateFloats];
        for (int q = body; q < pix; q++)
        {
            float dq = d[q];
            t0 = MathF.FusedMultiplyAdd(dq, c[q], t0);
            t1 = MathF.FusedMultiplyAdd(dq, c1[q], t1);
            t2 = MathF.FusedMultiplyAdd(dq, c2[q], t2);
            t3 = MathF.FusedMultiplyAdd(dq, c3[q], t3);
        }
        st[8] = t0; st[8 + StateFloats] = t1; st[8 + 2 * StateFloats] = t2; st[8 + 3 * StateFloats] = t3;
    }
}
