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
        // Stryker disable once Equality,Boolean,Statement,Block : equivalent in values, one chunk on this thread or several on the workers write the same elements (the split is only speed)
        if (chunks <= 1) { body(0, length); return; }
        // Stryker disable once Boolean : equivalent in values, as above (serial or parallel, the same chunks)
        Threading.For(chunks, true, c => { int s = c * Chunk; body(s, Math.Min(Chunk, length - s)); });
    }

    private delegate void PairKernel(IsaLevel isa, ReadOnlySpan<float> dy, ReadOnlySpan<float> other, Span<float> r);

    // dy (this) and a same-shape tensor through an elementwise kernel, in fixed chunks over the workers.
    private RawTensor MapPair(RawTensor other, PairKernel kernel)
    {
        var dy = Data; var o = Cpu(other);
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
        var r = Alloc(dy.Length, false, out var owner);
        var isa = CpuIsa.Level;
        ForChunks(dy.Length, (s, n) => kernel(isa, dy.AsSpan(s, n), o.AsSpan(s, n), r.AsSpan(s, n)));
        return Make(r, shape, owner);
    }

    /// <inheritdoc/>
    public override RawTensor ReluBackward(RawTensor x) => MapPair(x, ElementwiseKernels.ReluBackward);

    /// <inheritdoc/>
    public override RawTensor SigmoidBackward(RawTensor y) => MapPair(y, ElementwiseKernels.SigmoidBackward);

    /// <inheritdoc/>
    public override RawTensor ConvTranspose2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the kernel writes
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
        var isa = CpuIsa.Level;
        ForChunks(p.Length, (s, n) => ElementwiseKernels.Adam(isa, k, p.AsSpan(s, n), gs.AsSpan(s, n), ms.AsSpan(s, n), vs.AsSpan(s, n),
            p2.AsSpan(s, n), m2.AsSpan(s, n), v2.AsSpan(s, n)));
        return (new CpuRawTensor(p2, shape, null), new CpuRawTensor(m2, shape, null), new CpuRawTensor(v2, shape, null));
    }
}
