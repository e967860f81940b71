using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>The constants of one Adam step (see <see cref="ElementwiseKernels.Adam"/>).</summary>
internal readonly record struct AdamConstants(float B1, float OneMinusB1, float B2, float OneMinusB2, float SqrtBc2, float Eps, float Step, float Wd);

/// <summary>
/// The fused elementwise kernels behind <see cref="CpuRawTensor"/>'s ReluBackward, SigmoidBackward and
/// AdamUpdate, one path per <see cref="IsaLevel"/>: 256-bit vectors (AVX2 and AVX-512 levels), 128-bit
/// vectors, scalar. Every path does the same IEEE operations in the same order per element, so they give
/// the same bits; the vector width only decides speed.
/// </summary>
internal static class ElementwiseKernels
{
    /// <summary>r = dy · (x &gt; 0 ? 1 : 0): a product, not a select, so dy · 0 keeps the sign of zero and NaN like the unfused ops.</summary>
    public static void ReluBackward(IsaLevel isa, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> r)
    {
        int i = isa switch
        {
            IsaLevel.Avx512 or IsaLevel.Avx2 => ReluBackward256(dy, x, r),
            IsaLevel.Vector128 => ReluBackward128(dy, x, r),
            _ => 0,
        };
        for (; i < r.Length; i++) r[i] = dy[i] * (x[i] > 0f ? 1f : 0f);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ReluBackward256(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> r)
    {
        int i = 0;
        var one = Vector256<float>.One;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= r.Length - 8; i += 8)
        {
            var mask = Vector256.GreaterThan(Vector256.Create(x[i..]), Vector256<float>.Zero);
            (Vector256.Create(dy[i..]) * Vector256.ConditionalSelect(mask, one, Vector256<float>.Zero)).CopyTo(r[i..]);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ReluBackward128(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> r)
    {
        int i = 0;
        var one = Vector128<float>.One;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= r.Length - 4; i += 4)
        {
            var mask = Vector128.GreaterThan(Vector128.Create(x[i..]), Vector128<float>.Zero);
            (Vector128.Create(dy[i..]) * Vector128.ConditionalSelect(mask, one, Vector128<float>.Zero)).CopyTo(r[i..]);
        }
        return i;
    }

    /// <summary>r = dy · y · (1 − y), left to right.</summary>
    public static void SigmoidBackward(IsaLevel isa, ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> r)
    {
        int i = isa switch
        {
            IsaLevel.Avx512 or IsaLevel.Avx2 => SigmoidBackward256(dy, y, r),
            IsaLevel.Vector128 => SigmoidBackward128(dy, y, r),
            _ => 0,
        };
        for (; i < r.Length; i++) r[i] = dy[i] * y[i] * (1f - y[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SigmoidBackward256(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> r)
    {
        int i = 0;
        var one = Vector256<float>.One;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= r.Length - 8; i += 8)
        {
            var yv = Vector256.Create(y[i..]);
            (Vector256.Create(dy[i..]) * yv * (one - yv)).CopyTo(r[i..]);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SigmoidBackward128(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> r)
    {
        int i = 0;
        var one = Vector128<float>.One;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= r.Length - 4; i += 4)
        {
            var yv = Vector128.Create(y[i..]);
            (Vector128.Create(dy[i..]) * yv * (one - yv)).CopyTo(r[i..]);
        }
        return i;
    }

    /// <summary>One Adam step over a chunk: the same operations, in the same order, as the unfused Adam rule (bitwise identical).</summary>
    public static void Adam(IsaLevel isa, AdamConstants k, ReadOnlySpan<float> p, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> v,
        Span<float> p2, Span<float> m2, Span<float> v2)
    {
        int i = isa switch
        {
            IsaLevel.Avx512 or IsaLevel.Avx2 => Adam256(k, p, g, m, v, p2, m2, v2),
            IsaLevel.Vector128 => Adam128(k, p, g, m, v, p2, m2, v2),
            _ => 0,
        };
        bool decay = k.Wd != 0f;
        for (; i < p.Length; i++)
        {
            float gv = g[i];
            if (decay) gv += p[i] * k.Wd;
            float mv = m[i] * k.B1 + gv * k.OneMinusB1;
            float vv = v[i] * k.B2 + (gv * gv) * k.OneMinusB2;
            float denom = MathF.Sqrt(vv) / k.SqrtBc2 + k.Eps;
            p2[i] = p[i] - mv / denom * k.Step;
            m2[i] = mv;
            v2[i] = vv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Adam256(AdamConstants k, ReadOnlySpan<float> p, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> v,
        Span<float> p2, Span<float> m2, Span<float> v2)
    {
        int i = 0;
        var b1 = Vector256.Create(k.B1); var c1 = Vector256.Create(k.OneMinusB1);
        var b2 = Vector256.Create(k.B2); var c2 = Vector256.Create(k.OneMinusB2);
        var sb = Vector256.Create(k.SqrtBc2); var eps = Vector256.Create(k.Eps);
        var step = Vector256.Create(k.Step); var wd = Vector256.Create(k.Wd);
        bool decay = k.Wd != 0f;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= p.Length - 8; i += 8)
        {
            var pv = Vector256.Create(p[i..]);
            var gv = Vector256.Create(g[i..]);
            if (decay) gv += pv * wd;
            var mv = Vector256.Create(m[i..]) * b1 + gv * c1;
            var vv = Vector256.Create(v[i..]) * b2 + (gv * gv) * c2;
            var denom = Vector256.Sqrt(vv) / sb + eps;
            (pv - mv / denom * step).CopyTo(p2[i..]);
            mv.CopyTo(m2[i..]);
            vv.CopyTo(v2[i..]);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Adam128(AdamConstants k, ReadOnlySpan<float> p, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> v,
        Span<float> p2, Span<float> m2, Span<float> v2)
    {
        int i = 0;
        var b1 = Vector128.Create(k.B1); var c1 = Vector128.Create(k.OneMinusB1);
        var b2 = Vector128.Create(k.B2); var c2 = Vector128.Create(k.OneMinusB2);
        var sb = Vector128.Create(k.SqrtBc2); var eps = Vector128.Create(k.Eps);
        var step = Vector128.Create(k.Step); var wd = Vector128.Create(k.Wd);
        bool decay = k.Wd != 0f;
        // Stryker disable once Equality : equivalent, a last full vector left to the scalar tail gives the same bits (each level does the same IEEE operations)
        for (; i <= p.Length - 4; i += 4)
        {
            var pv = Vector128.Create(p[i..]);
            var gv = Vector128.Create(g[i..]);
            if (decay) gv += pv * wd;
            var mv = Vector128.Create(m[i..]) * b1 + gv * c1;
            var vv = Vector128.Create(v[i..]) * b2 + (gv * gv) * c2;
            var denom = Vector128.Sqrt(vv) / sb + eps;
            (pv - mv / denom * step).CopyTo(p2[i..]);
            mv.CopyTo(m2[i..]);
            vv.CopyTo(v2[i..]);
        }
        return i;
    }

    /// <summary>
    /// Σ over o of Σ(x[o·stride .. o·stride + run)): one channel's sum of a bias gradient (outer = batch, run = H·W).
    /// The order is the same at every level: eight lanes, lane l summing the elements at l mod 8 of each run's
    /// first ⌊run/8⌋·8, runs in order; a ninth chain summing the rest of each run; then the lanes pairwise
    /// ((0+1)+(2+3))+((4+5)+(6+7)), plus the ninth. A run of 196 summed through a library reduction per call
    /// spent most of its time in the call; the lanes also keep eight add chains in flight, not one.
    /// </summary>
    public static unsafe float ChannelSum(IsaLevel isa, float* x, int outer, long stride, int run)
    {
        int body = run / 8 * 8;
        float tail = 0f;
        // A span, not a pointer: a lane index past the eighth throws instead of writing past the buffer.
        Span<float> lanes = stackalloc float[8];
        switch (isa)
        {
            case IsaLevel.Avx512 or IsaLevel.Avx2:
            {
                var acc = Vector256<float>.Zero;
                for (int o = 0; o < outer; o++)
                {
                    float* r = x + o * stride;
                    for (int j = 0; j < body; j += 8) acc += Vector256.Load(r + j);
                    for (int j = body; j < run; j++) tail += r[j];
                }
                acc.CopyTo(lanes);
                break;
            }
            case IsaLevel.Vector128:
            {
                Vector128<float> lo = Vector128<float>.Zero, hi = Vector128<float>.Zero;
                for (int o = 0; o < outer; o++)
                {
                    float* r = x + o * stride;
                    for (int j = 0; j < body; j += 8) { lo += Vector128.Load(r + j); hi += Vector128.Load(r + j + 4); }
                    for (int j = body; j < run; j++) tail += r[j];
                }
                lo.CopyTo(lanes); hi.CopyTo(lanes[4..]);
                break;
            }
            default:
            {
                // Stryker disable once Statement : equivalent while the assembly keeps locals zeroed (stackalloc memory starts at 0); kept so the sum never rests on that
                lanes.Clear();
                for (int o = 0; o < outer; o++)
                {
                    float* r = x + o * stride;
                    for (int j = 0; j < body; j += 8)
                        for (int l = 0; l < 8; l++) lanes[l] += r[j + l];
                    for (int j = body; j < run; j++) tail += r[j];
                }
                break;
            }
        }
        return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + tail;
    }
}
