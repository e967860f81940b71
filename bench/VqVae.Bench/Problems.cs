using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Bench;

/// <summary>Deterministic pseudo-random fill for benchmark inputs.</summary>
internal static class Fill
{
    public static float[] Random(long length, int seed)
    {
        var r = new Random(seed);
        var a = new float[length];
        for (long i = 0; i < length; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }
}

/// <summary>C[m,n] = A[m,k]·B[k,n] with preallocated operands.</summary>
public sealed class GemmProblem(int m, int n, int k)
{
    private readonly float[] a = Fill.Random((long)m * k, 1), b = Fill.Random((long)k * n, 2), c = new float[(long)m * n];

    /// <summary>2·m·n·k.</summary>
    public double Flops => 2.0 * m * n * k;

    /// <summary>One multiply.</summary>
    public void Run() => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
}

/// <summary>A named convolution layer of the reference model (batch 64).</summary>
public sealed record ConvLayer(string Name, ConvGeometry Geometry)
{
    /// <summary>Name, for BenchmarkDotNet's parameter column.</summary>
    public override string ToString() => Name;
}

/// <summary>The six conv layers of the reference VQ-VAE at batch 64 (DESIGN §4); dec2/dec3 are
/// transposed convs, given by the geometry of the forward conv they are the adjoint of.</summary>
public static class ConvLayers
{
    private static ConvGeometry G(int n, int cin, int h, int cout, int k, int s, int p)
    {
        int ho = ConvGeometry.OutSize(h, k, s, p, 1);
        return new ConvGeometry(n, cin, h, h, cout, k, k, s, s, p, p, 1, 1, ho, ho);
    }

    /// <summary>enc1, enc2, enc3, dec1, dec2 (convT), dec3 (convT).</summary>
    public static readonly ConvLayer[] All =
    [
        new("enc1", G(64, 1, 28, 128, 4, 2, 1)),
        new("enc2", G(64, 128, 14, 128, 4, 2, 1)),
        new("enc3", G(64, 128, 7, 64, 3, 1, 1)),
        new("dec1", G(64, 64, 7, 128, 3, 1, 1)),
        new("dec2", G(64, 128, 14, 128, 4, 2, 1)),
        new("dec3", G(64, 1, 28, 128, 4, 2, 1)),
    ];
}

/// <summary>Operands for one conv geometry's three kernels.</summary>
public sealed class ConvProblem
{
    private readonly ConvGeometry g;
    private readonly float[] x, w, bias, y, dy, dx, dw;

    /// <summary>Allocates and fills the operands.</summary>
    public ConvProblem(ConvLayer layer)
    {
        g = layer.Geometry;
        x = Fill.Random((long)g.N * g.Cin * g.H * g.W, 3);
        w = Fill.Random((long)g.Cout * g.Cin * g.Kh * g.Kw, 4);
        bias = Fill.Random(g.Cout, 5);
        dy = Fill.Random((long)g.N * g.Cout * g.Ho * g.Wo, 6);
        y = new float[dy.Length];
        dx = new float[x.Length];
        dw = new float[w.Length];
    }

    /// <summary>y = conv(x, w) + bias.</summary>
    public void Forward() => ConvKernels.Forward(g, x, w, bias, y);
    /// <summary>dx from dy.</summary>
    public void BackwardInput() => ConvKernels.BackwardInput(g, dy, w, dx);
    /// <summary>dw from x and dy.</summary>
    public void BackwardWeight() => ConvKernels.BackwardWeight(g, x, dy, dw);
}

/// <summary>Nearest-code search at the quantizer's size.</summary>
public sealed class NearestProblem(int n, int d, int k)
{
    private readonly float[] z = Fill.Random((long)n * d, 7), e = Fill.Random((long)k * d, 8);
    private readonly int[] idx = new int[n];
    /// <summary>Rows.</summary>
    public int N => n;
    /// <summary>Row length.</summary>
    public int D => d;
    /// <summary>Codes.</summary>
    public int K => k;
    /// <summary>One search.</summary>
    public void Run() => NearestCode.Argmin(z, n, d, e, k, idx);
}
