using VqVae.Tensors.Diagnostics;
using VqVae.Tensors.Backends;

namespace VqVae.Tensors;

// Matrix multiply and convolutions, all on the GEMM-based kernels.
public sealed partial class Tensor
{
    /// <summary>Matrix product of 2-D tensors [m,k]·[k,n].</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => MatMulT(a, b, false, false);

    /// <summary>Matrix product with this on the left.</summary>
    public Tensor MatMul(Tensor b) => MatMul(this, b);

    /// <summary>op(a)·op(b), where op transposes when asked (no transposed copy is made).</summary>
    public static Tensor MatMulT(Tensor a, Tensor b, bool transA, bool transB)
    {
        ArgumentNullException.ThrowIfNull(a); ArgumentNullException.ThrowIfNull(b);
        if (a.Rank != 2) throw new ArgumentException($"matmul: a must be 2-D, got shape {ShapeUtil.Format(a.Raw.Shape)}.", nameof(a));
        if (b.Rank != 2) throw new ArgumentException($"matmul: b must be 2-D, got shape {ShapeUtil.Format(b.Raw.Shape)}.", nameof(b));
        int ka = transA ? a.Raw.Shape[0] : a.Raw.Shape[1], kb = transB ? b.Raw.Shape[1] : b.Raw.Shape[0];
        using var _ = OpProfiler.Time("matmul");
        if (ka != kb) throw new ArgumentException($"matmul: inner dimensions differ: a is {ShapeUtil.Format(a.Raw.Shape)}{(transA ? "ᵀ" : "")}, b is {ShapeUtil.Format(b.Raw.Shape)}{(transB ? "ᵀ" : "")} ({ka} vs {kb}).", nameof(b));
        return Record("matmul", a.Raw.MatMul(b.Raw, transA, transB), [a, b], dy =>
        [
            IfTracked(a, () => transA ? MatMulT(b.NoDiff(), dy, transB, true) : MatMulT(dy, b.NoDiff(), false, !transB)),
            IfTracked(b, () => transB ? MatMulT(dy, a.NoDiff(), true, transA) : MatMulT(a.NoDiff(), dy, !transA, false)),
        ]);
    }

    /// <summary>2-D convolution, NCHW, weight [Cout,Cin,Kh,Kw] (PyTorch layout), square stride/padding/dilation.</summary>
    /// <example><code>var y = Tensor.Conv2d(x, w, b, stride: 2, padding: 1);</code></example>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1) =>
        Conv2d(input, weight, bias, stride, stride, padding, padding, dilation, dilation);

    /// <summary>2-D convolution with separate height and width parameters.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW, int dilationH, int dilationW)
    {
        var g = ConvChecks.Forward("conv2d", input, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW);
        var inputs = bias is null ? new[] { input, weight } : [input, weight, bias];
        string op = OpProfiler.Enabled ? $"conv2d {Describe(g, false)}" : "conv2d";
        using var _ = OpProfiler.Time(op);
        if (WillRecord(inputs))
        {
            // A backend with its own autograd (libtorch) keeps the forward pass for both gradients.
            var (yt, native) = input.Raw.Conv2dTaped(weight.Raw, bias?.Raw, g, input.IsTracked, weight.IsTracked);
            if (native is not null)
                return Record(op, yt, inputs, dy =>
                {
                    var (dx, dw) = native.Run(dy.Raw);
                    return [OrNull(dx), OrNull(dw), .. BiasGrad(op, bias, dy)];
                });
            return Record(op, yt, inputs, dy => Conv2dGrads(op, input, weight, bias, g, dy));
        }
        return Record(op, input.Raw.Conv2d(weight.Raw, bias?.Raw, g), inputs, dy => Conv2dGrads(op, input, weight, bias, g, dy));
    }

    private static Tensor?[] Conv2dGrads(string op, Tensor input, Tensor weight, Tensor? bias, ConvGeometry g, Tensor dy) =>
    [
        IfTracked(input, () => { using var p = Part(op, " input grad"); return new Tensor(dy.Raw.Conv2dBackwardInput(weight.Raw, g)); }),
        IfTracked(weight, () => { using var p = Part(op, " weight grad"); return new Tensor(input.Raw.Conv2dBackwardWeight(dy.Raw, g)); }),
        .. BiasGrad(op, bias, dy),
    ];

    private static Tensor?[] BiasGrad(string op, Tensor? bias, Tensor dy) =>
        bias is null ? [] : [IfTracked(bias, () => { using var p = Part(op, " bias grad"); return dy.Sum([0, 2, 3]); })];

    // A gradient part's profile scope. The name is built only while profiling (convolutions run in every step).
    private static OpProfiler.Scope Part(string op, string part)
    {
        // Stryker disable once Conditional : equivalent, TimePart returns the empty scope itself when profiling is off
        return OpProfiler.Enabled ? OpProfiler.TimePart(op + part) : default;
    }

    // True when Record will tape an op on these inputs (so a taped forward pass is worth making).
    private static bool WillRecord(Tensor[] inputs)
    {
        // Stryker disable once Boolean : equivalent in values, the taped forward pass gives the same output and gradients as the plain one (it only spares libtorch a second pass)
        if (NoGradScope.Active) return false;
        foreach (var t in inputs) if (t.Node is not null) return true;
        // Stryker disable once Boolean : equivalent in values, as above
        return false;
    }

    // A native backward pass's gradient, missing for an input that is not tracked.
    private static Tensor? OrNull(RawTensor? raw)
    {
        // Stryker disable once Conditional : equivalent, a missing gradient belongs to an untracked input and backpropagation never reads it
        return raw is null ? null : new Tensor(raw);
    }

    /// <summary>2-D transposed convolution, NCHW, weight [Cin,Cout,Kh,Kw] (PyTorch layout).</summary>
    /// <example><code>var up = Tensor.ConvTranspose2d(x, w, b, stride: 2, padding: 1);  // 7×7 → 14×14 for 4×4 kernels</code></example>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1) =>
        ConvTranspose2d(input, weight, bias, stride, stride, padding, padding, outputPadding, outputPadding, dilation, dilation);

    /// <summary>2-D transposed convolution with separate height and width parameters.</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW,
        int outputPadH, int outputPadW, int dilationH, int dilationW)
    {
        // g is the forward convolution whose adjoint this is: its input is our output.
        var g = ConvChecks.Transposed(input, weight, bias, strideH, strideW, padH, padW, outputPadH, outputPadW, dilationH, dilationW);
        string op = OpProfiler.Enabled ? $"convTranspose2d {Describe(g, true)}" : "convTranspose2d";
        using var _ = OpProfiler.Time(op);
        var inputs = bias is null ? new[] { input, weight } : [input, weight, bias];
        if (WillRecord(inputs))
        {
            var (yt, native) = input.Raw.ConvTranspose2dTaped(weight.Raw, bias?.Raw, g, input.IsTracked, weight.IsTracked);
            if (native is not null)
                return Record(op, yt, inputs, dy =>
                {
                    var (dx, dw) = native.Run(dy.Raw);
                    return [OrNull(dx), OrNull(dw), .. BiasGrad(op, bias, dy)];
                });
            return Record(op, yt, inputs, dy => ConvTranspose2dGrads(op, input, weight, bias, g, dy));
        }
        return Record(op, input.Raw.ConvTranspose2d(weight.Raw, bias?.Raw, g), inputs, dy => ConvTranspose2dGrads(op, input, weight, bias, g, dy));
    }

    private static Tensor?[] ConvTranspose2dGrads(string op, Tensor input, Tensor weight, Tensor? bias, ConvGeometry g, Tensor dy) =>
    [
        IfTracked(input, () => { using var p = Part(op, " input grad"); return new Tensor(dy.Raw.Conv2d(weight.Raw, null, g)); }),
        IfTracked(weight, () => { using var p = Part(op, " weight grad"); return new Tensor(dy.Raw.Conv2dBackwardWeight(input.Raw, g)); }),
        .. BiasGrad(op, bias, dy),
    ];

    // "128→64 k3s1 7×7→7×7" for profiles (transposed: in and out of the transposed conv).
    private static string Describe(ConvGeometry g, bool transposed) => transposed
        ? $"{g.Cout}→{g.Cin} k{g.Kh}s{g.StrideH} {g.Ho}×{g.Wo}→{g.H}×{g.W}"
        : $"{g.Cin}→{g.Cout} k{g.Kh}s{g.StrideH} {g.H}×{g.W}→{g.Ho}×{g.Wo}";

}
