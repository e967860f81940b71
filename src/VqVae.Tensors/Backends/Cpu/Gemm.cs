using System.Runtime.CompilerServices;
namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Single-precision matrix multiply on row-major data: a packed, cache-blocked GEMM
/// (BLIS-style loop nest) around register-blocked SIMD micro-kernels.
/// </summary>
/// <remarks>
/// Determinism: K is cut into chunks of <see cref="ChunkDepth"/> (from k alone), each summed by one FMA chain per
/// element and added to C in chunk order. Threads only ever split the M×N output into disjoint
/// tiles, so the bits of C depend on neither the thread count nor scheduling. Every micro-kernel
/// (one per <see cref="IsaLevel"/>, chosen by <see cref="CpuIsa.Level"/>) makes each element the same
/// FMA chain, so the bits do not depend on the ISA level either.
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>Depth of one packed panel: an A sliver (MR×KC) stays in L1, a B block in L2.</summary>
    internal const int KC = 384;

    /// <summary>
    /// Depth of every K chunk but the last: the fewest chunks of at most <see cref="KC"/>, evened out.
    /// An even split avoids a thin tail chunk (k = 784 would be 384+384+16), which costs a full pass
    /// of C loads and stores for a few multiply-adds. Depends on k only, so bits stay thread-free.
    /// </summary>
    internal static int ChunkDepth(int k)
    {
        int chunks = Math.Max(1, (k + KC - 1) / KC);
        return (k + chunks - 1) / chunks;
    }

    /// <summary>Below this many multiply-adds a GEMM runs on the calling thread.</summary>
    internal const long ParallelThreshold = 1L << 16;

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is [m,k], op(B) is [k,n], C is [m,n].
    /// With transA, A is stored [k,m] (lda ≥ m); otherwise [m,k] (lda ≥ k). Likewise B.
    /// beta = 0 overwrites C without reading it (NaNs in C do not survive).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        var kern = GemmKernels.Current;
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        // Stryker disable once Equality,Arithmetic : equivalent in values, the threshold only decides whether tiles run on several threads
        bool parallel = (long)m * n * k >= ParallelThreshold;
        fixed (float* pa = a, pb = b, pc = c)
            Run(kern, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, parallel);
    }

    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        Checks.NonNegative(m, nameof(m));
        Checks.NonNegative(n, nameof(n));
        Checks.NonNegative(k, nameof(k));
        if (transA) Checks.Matrix(a.Length, k, m, lda, nameof(a), nameof(lda));
        else Checks.Matrix(a.Length, m, k, lda, nameof(a), nameof(lda));
        if (transB) Checks.Matrix(b.Length, n, k, ldb, nameof(b), nameof(ldb));
        else Checks.Matrix(b.Length, k, n, ldb, nameof(b), nameof(ldb));
        Checks.Matrix(c.Length, m, n, ldc, nameof(c), nameof(ldc));
    }

    /// <summary>Unchecked GEMM on raw pointers; the callers (conv kernels) have validated sizes.</summary>
    internal static void Run(GemmKernels.Kernel kern, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool parallel, float* packedA = null, float* packedB = null)
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        // Output tiles: at most NCmax columns (the packed B block, KC×NC, should sit in L2);
        // rows split further only to give every worker enough tiles. Tiles are multiples of MR/NR
        // from the origin, so the register-tile grid is the same however the work is divided.
        int mr = kern.MR, nr = kern.NR;
        int ncMax = Math.Max(nr, 256 / nr * nr);
        int nTiles = (n + ncMax - 1) / ncMax;
        int slivers = (m + mr - 1) / mr;
        // How many row tiles the work is cut into changes no value: every tile is whole slivers from the origin and
        // sums all of K in the same order (pinned by the thread-count tests).
        // Stryker disable once Conditional,Linq : equivalent in values, as above
        int workers = parallel ? Math.Max(1, Threading.Threads) : 1;
        // Stryker disable once Linq,Arithmetic : equivalent in values, as above
        int mTiles = workers == 1 ? 1 : Math.Min(slivers, Math.Max(1, (8 * workers + nTiles - 1) / nTiles));
        int sliversPerTile = (slivers + mTiles - 1) / mTiles;
        mTiles = (slivers + sliversPerTile - 1) / sliversPerTile;
        int ncTile = Math.Min(ncMax, (n + nr - 1) / nr * nr);

        var job = new Job
        {
            Kern = kern, TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha,
            A = a, Lda = lda, B = b, Ldb = ldb, Beta = beta, C = c, Ldc = ldc,
            RowsPerTile = sliversPerTile * mr, ColsPerTile = ncTile, MTiles = mTiles, PackedA = packedA,
            PackedB = packedB, NPadded = (n + nr - 1) / nr * nr,
        };
        int tiles = mTiles * nTiles;
        // Serial or parallel runs the same tiles, so the same values. (No delegate on the serial path: GEMMs run per step.)
        // Stryker disable once Equality,Logical : equivalent in values, as above
        bool serial = workers == 1 || tiles == 1;
        // Stryker disable once Boolean : equivalent in values, as above (the negated test; the parallel loop told to run serially)
        if (serial)
            // Stryker disable once Equality : equivalent, a tile past the last covers no element (Tile returns at once)
            for (int t = 0; t < tiles; t++) job.Tile(t);
        else
            Threading.For(tiles, true, job.Tile);
    }

    /// <summary>
    /// Floats of a whole op(B)[k,n] in packed form (see <see cref="Run"/>'s packedB): K chunk p0 starts at
    /// p0·nPadded, and within it sliver s (columns s·NR..) at s·kc·NR, laid out [kc][NR].
    /// Producers (the conv lowering) write it directly, skipping a copy through a plain matrix.
    /// </summary>
    internal static long PackedBSize(GemmKernels.Kernel kern, int k, int n) => (long)k * ((n + kern.NR - 1) / kern.NR * kern.NR);

    /// <summary>Floats needed to hold op(A)[m,k] packed for every K chunk (see <see cref="PackAllA"/>).</summary>
    internal static long PackedASize(GemmKernels.Kernel kern, int m, int k) => (long)((m + kern.MR - 1) / kern.MR) * kern.MR * k;

    /// <summary>
    /// Packs all of alpha·op(A) once, for an A reused by many GEMMs (a conv weight across image groups):
    /// chunk p0 starts at slivers·MR·p0, sliver s of it at s·MR·kc; exactly what <see cref="Job.Tile"/> would pack.
    /// </summary>
    internal static void PackAllA(GemmKernels.Kernel kern, bool transA, int m, int k, float alpha, float* a, int lda, float* dst, bool parallel = false)
    {
        var job = new PackAJob(kern.MR, transA, m, k, alpha, a, lda, dst);
        // Split by slivers (disjoint copies): the conv kernels pack a whole weight before their
        // parallel loop, and a 1 MB weight packed by one thread leaves the other idle.
        int slivers = (m + kern.MR - 1) / kern.MR;
        Threading.For(slivers, parallel && (long)m * k >= 1 << 16, job.Sliver);
    }

    /// <summary>
    /// Packs all of op(B)[k,n] once into the layout of <see cref="PackedBSize"/>, for a B shared by many GEMMs
    /// (the codebook across the nearest-code search's row blocks).
    /// </summary>
    internal static void PackAllB(GemmKernels.Kernel kern, bool transB, int k, int n, float* b, int ldb, float* dst)
    {
        int step = ChunkDepth(k), nPadded = (n + kern.NR - 1) / kern.NR * kern.NR;
        for (int p0 = 0; p0 < k; p0 += step)
            GemmPacking.PackB(transB, b, ldb, 0, n, p0, Math.Min(step, k - p0), kern.NR, dst + (long)p0 * nPadded);
    }

    private sealed class PackAJob(int mr, bool transA, int m, int k, float alpha, float* a, int lda, float* dst)
    {
        private readonly long rowsPadded = (long)((m + mr - 1) / mr) * mr;
        private readonly int step = ChunkDepth(k);

        public void Sliver(int s)
        {
            int i = s * mr;
            for (int p0 = 0; p0 < k; p0 += step)
            {
                int kc = Math.Min(step, k - p0);
                GemmPacking.PackA(transA, a, lda, i, Math.Min(mr, m - i), p0, kc, mr, alpha, dst + rowsPadded * p0 + (long)i * kc);
            }
        }
    }

    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>One GEMM call's operands; <see cref="Tile"/> computes one output tile over all of K.</summary>
    private sealed class Job
    {
        public GemmKernels.Kernel Kern;
        public bool TransA, TransB;
        public int M, N, K, Lda, Ldb, Ldc, RowsPerTile, ColsPerTile, MTiles, NPadded;
        public float Alpha, Beta;
        public float* A, B, C, PackedA, PackedB;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Tile(int t)
        {
            int i0 = (t % MTiles) * RowsPerTile, j0 = (t / MTiles) * ColsPerTile;
            int rows = Math.Min(RowsPerTile, M - i0), cols = Math.Min(ColsPerTile, N - j0);
            // Stryker disable once Statement : equivalent, the tile count is exact so no tile lies past the edge (a guard)
            if (rows <= 0 || cols <= 0) return;
            int mr = Kern.MR, nr = Kern.NR;
            int bSlivers = (cols + nr - 1) / nr;
            float* bPack = PackedB != null ? null : Scratch.Get(Scratch.GemmB, (long)KC * bSlivers * nr);
            float* aPack = Scratch.Get(Scratch.GemmA, KC * mr);
            float* scratch = stackalloc float[mr * nr];

            int step = ChunkDepth(K);
            for (int p0 = 0; p0 < K; p0 += step)
            {
                int kc = Math.Min(step, K - p0);
                int mode = p0 > 0 || Beta == 1f ? 1 : Beta == 0f ? 0 : 2;
                float* bp = bPack;
                if (PackedB != null) bp = PackedB + (long)p0 * NPadded + (long)(j0 / nr) * kc * nr;
                else GemmPacking.PackB(TransB, B, Ldb, j0, cols, p0, kc, nr, bPack);
                for (int i = 0; i < rows; i += mr)
                {
                    int h = Math.Min(mr, rows - i);
                    float* ap = aPack;
                    if (PackedA != null) ap = PackedA + (long)((M + mr - 1) / mr) * mr * p0 + (long)(i0 + i) * kc;
                    else GemmPacking.PackA(TransA, A, Lda, i0 + i, h, p0, kc, mr, Alpha, aPack);
                    float* cRow = C + (long)(i0 + i) * Ldc + j0;
                    for (int j = 0; j < cols; j += nr)
                    {
                        int w = Math.Min(nr, cols - j);
                        float* bs = bp + (long)(j / nr) * kc * nr;
                        if (h == mr && w == nr)
                            Kern.Run(kc, ap, bs, cRow + j, Ldc, mode, Beta);
                        else
                        {
                            Kern.Run(kc, ap, bs, scratch, nr, 0, 0f);
                            GemmKernels.Merge(scratch, nr, cRow + j, Ldc, h, w, mode, Beta);
                        }
                    }
                }
            }
        }
    }
}
