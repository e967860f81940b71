namespace VqVae.Tensors.Backend.Cpu;

/// <summary>
/// Convolution weight gradient dw[Cout, K] = Σ over image groups of dy_g[Cout, P] · cols_gᵀ[P, K].
/// Groups have a fixed size (from the geometry alone) and are added in order; inside a group the
/// lowering is split over images and the GEMM over output tiles, so bits do not depend on threads.
/// </summary>
internal static unsafe class WeightGradient
{
    /// <summary>Images per group: about one GEMM depth chunk (KC) of output pixels.</summary>
    internal static int GroupSize(ConvGeometry g)
    {
        long pix = (long)g.Ho * g.Wo, rows = (long)g.Cin * g.Kh * g.Kw;
        if (pix == 0) return 1;
        long nb = Math.Max(1, Gemm.KC / pix);
        long maxByMemory = Math.Max(1, (1L << 21) / Math.Max(1, rows * pix));
        return (int)Math.Max(1, Math.Min(Math.Min(nb, maxByMemory), Math.Max(1, g.N)));
    }

    public static void Run(ConvGeometry g, float* x, float* dy, float* dw)
    {
        int pix = g.Ho * g.Wo, k = g.Cin * g.Kh * g.Kw;
        var dwSpan = new Span<float>(dw, g.Cout * k);
        if (g.N == 0 || pix == 0) { dwSpan.Clear(); return; }

        int nb = GroupSize(g);
        long inSize = (long)g.Cin * g.H * g.W;
        // Orientation: the wider of Cout and K goes along the GEMM's N (the vector direction).
        bool transposed = k < g.Cout;
        float* cols = Scratch.Get(Scratch.Cols, (long)k * nb * pix);
        float* dyg = Scratch.Get(Scratch.Aux, (long)g.Cout * nb * pix);
        float* acc = dw;
        // The transposed form accumulates dwᵀ in a rented buffer, transposed into dw at the end.
        float[]? tmpArr = transposed ? System.Buffers.ArrayPool<float>.Shared.Rent(k * g.Cout) : null;
        var kern = GemmKernels.For(GemmIsa.Auto);
        fixed (float* tmp = tmpArr)
        {
            if (transposed) acc = tmp;
            for (int n0 = 0; n0 < g.N; n0 += nb)
            {
                int count = Math.Min(nb, g.N - n0);
                int ld = count * pix;
                var lower = new Lowering(g, x, dy, cols, dyg, n0, ld, inSize);
                Threading.For(count, count > 1, lower.Image);
                float beta = n0 == 0 ? 0f : 1f;
                bool par = (long)g.Cout * k * ld >= Gemm.ParallelThreshold;
                if (!transposed)
                    // dw[Cout, K] (+)= dyg[Cout, ld] · colsᵀ
                    Gemm.Run(kern, false, true, g.Cout, k, ld, 1f, dyg, ld, cols, ld, beta, dw, k, par);
                else
                    // dwᵀ[K, Cout] (+)= cols[K, ld] · dygᵀ
                    Gemm.Run(kern, false, true, k, g.Cout, ld, 1f, cols, ld, dyg, ld, beta, acc, g.Cout, par);
            }
            if (transposed)
                for (int co = 0; co < g.Cout; co++)
                    for (int r = 0; r < k; r++)
                        dw[(long)co * k + r] = acc[(long)r * g.Cout + co];
        }
        if (tmpArr != null) System.Buffers.ArrayPool<float>.Shared.Return(tmpArr);
    }

    /// <summary>Lowers one image of a group into the shared column and output-gradient matrices.</summary>
    private sealed class Lowering(ConvGeometry g, float* x, float* dy, float* cols, float* dyg, int n0, int ld, long inSize)
    {
        public void Image(int j)
        {
            int pix = g.Ho * g.Wo;
            Im2Col.Lower(g, x + (n0 + j) * inSize, cols + (long)j * pix, ld);
            long outSize = (long)g.Cout * pix;
            for (int co = 0; co < g.Cout; co++)
                new ReadOnlySpan<float>(dy + (n0 + j) * outSize + (long)co * pix, pix)
                    .CopyTo(new Span<float>(dyg + (long)co * ld + (long)j * pix, pix));
        }
    }
}
