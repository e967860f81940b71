using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace VqVae.Tensors.Backends.Cpu;

// Fused elementwise kernels: one pass over memory, the same IEEE operations in the same order as
// the primitive compositions they replace (so the same bits), split over threads in fixed chunks
// (elementwise, so the split never changes a value).
internal sealed partial class CpuRawTensor
{
    /// <summary>Elements per parallel chunk of the fused kernels (fixed; a chunk is one worker's).</summary>
    private const int Chunk = 1 << 16;

    private static void ForChunks(int length, Action<int, int> body)
    {
        int chunks = (length + Chunk - 1) / Chunk;
        if (chunks <= 1) { body(0, length); return; }
        Threading.For(chunks, true, c => { int s = c * Chunk; body(s, Math.Min(Chunk, length - s)); });
    }

    private delegate void PairKernel(ReadOnlySpan<float> dy, ReadOnlySpan<float> other, Span<float> r);

    // dy (this) and a same-shape tensor through an elementwise kernel, in fixed chunks over the workers.
    private RawTensor MapPair(RawTensor other, PairKernel kernel)
    {
        var dy = Data; var o = Cpu(other);
        var r = Alloc(dy.Length, false, out var owner);
        ForChunks(dy.Length, (s, n) => kernel(dy.AsSpan(s, n), o.AsSpan(s, n), r.AsSpan(s, n)));
        return Make(r, shape, owner);
    }

    /// <inheritdoc/>
    public override RawTensor ReluBackward(RawTensor x) => MapPair(x, ReluBackward);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> r)
    {
        int i = 0, w = Vector<float>.Count;
        var one = Vector<float>.One;
        for (; i <= r.Length - w; i += w)
        {
            var mask = Vector.GreaterThan(new Vector<float>(x[i..]), Vector<float>.Zero);
            // dy · 1 or dy · 0 (not a select: dy · 0 keeps the sign of zero and NaN like the unfused product)
            (new Vector<float>(dy[i..]) * Vector.ConditionalSelect(mask, one, Vector<float>.Zero)).CopyTo(r[i..]);
        }
        for (; i < r.Length; i++) r[i] = dy[i] * (x[i] > 0f ? 1f : 0f);
    }

    /// <inheritdoc/>
    public override RawTensor SigmoidBackward(RawTensor y) => MapPair(y, SigmoidBackward);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SigmoidBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> r)
    {
        int i = 0, w = Vector<float>.Count;
        var one = Vector<float>.One;
        for (; i <= r.Length - w; i += w)
        {
            var yv = new Vector<float>(y[i..]);
            (new Vector<float>(dy[i..]) * yv * (one - yv)).CopyTo(r[i..]);
        }
        for (; i < r.Length; i++) r[i] = dy[i] * y[i] * (1f - y[i]);
    }

    /// <inheritdoc/>
    public override RawTensor ConvTranspose2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        var y = Alloc(g.N * g.Cin * g.H * g.W, false, out var owner);
        ConvKernels.BackwardInput(g, Data, Cpu(weight), y);
        if (bias is not null)
        {
            var b = Cpu(bias);
            int plane = g.H * g.W;
            for (int n = 0; n < g.N; n++)
                for (int c = 0; c < g.Cin; c++)
                {
                    var span = y.AsSpan((n * g.Cin + c) * plane, plane);
                    TensorPrimitives.Add(span, b[c], span);
                }
        }
        return Make(y, [g.N, g.Cin, g.H, g.W], owner);
    }

    /// <inheritdoc/>
    public override (RawTensor P, RawTensor M, RawTensor V) AdamUpdate(RawTensor g, RawTensor m, RawTensor v,
        float lr, float beta1, float beta2, float epsilon, float weightDecay, float bc1, float sqrtBc2)
    {
        var p = Data; var gs = Cpu(g); var ms = Cpu(m); var vs = Cpu(v);
        // Outlives the step: ordinary storage, never an arena's.
        var p2 = GC.AllocateUninitializedArray<float>(p.Length);
        var m2 = GC.AllocateUninitializedArray<float>(p.Length);
        var v2 = GC.AllocateUninitializedArray<float>(p.Length);
        var k = new AdamConstants(beta1, 1f - beta1, beta2, 1f - beta2, sqrtBc2, epsilon, lr / bc1, weightDecay);
        ForChunks(p.Length, (s, n) => Adam(k, p.AsSpan(s, n), gs.AsSpan(s, n), ms.AsSpan(s, n), vs.AsSpan(s, n),
            p2.AsSpan(s, n), m2.AsSpan(s, n), v2.AsSpan(s, n)));
        return (new CpuRawTensor(p2, shape, null), new CpuRawTensor(m2, shape, null), new CpuRawTensor(v2, shape, null));
    }

    private readonly record struct AdamConstants(float B1, float OneMinusB1, float B2, float OneMinusB2, float SqrtBc2, float Eps, float Step, float Wd);

    // The same operations, in the same order, as the unfused Adam rule: bitwise identical results.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Adam(AdamConstants k, ReadOnlySpan<float> p, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> v,
        Span<float> p2, Span<float> m2, Span<float> v2)
    {
        int i = 0, w = Vector<float>.Count;
        var b1 = new Vector<float>(k.B1); var c1 = new Vector<float>(k.OneMinusB1);
        var b2 = new Vector<float>(k.B2); var c2 = new Vector<float>(k.OneMinusB2);
        var sb = new Vector<float>(k.SqrtBc2); var eps = new Vector<float>(k.Eps);
        var step = new Vector<float>(k.Step); var wd = new Vector<float>(k.Wd);
        bool decay = k.Wd != 0f;
        for (; i <= p.Length - w; i += w)
        {
            var pv = new Vector<float>(p[i..]);
            var gv = new Vector<float>(g[i..]);
            if (decay) gv += pv * wd;
            var mv = new Vector<float>(m[i..]) * b1 + gv * c1;
            var vv = new Vector<float>(v[i..]) * b2 + (gv * gv) * c2;
            var denom = Vector.SquareRoot(vv) / sb + eps;
            (pv - mv / denom * step).CopyTo(p2[i..]);
            mv.CopyTo(m2[i..]);
            vv.CopyTo(v2[i..]);
        }
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
}
