using TorchSharp;
using VqVae.Tensors.Backends;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace VqVae.Tensors.Torch;

// Matrix product and convolutions. libtorch has no public conv backward entry point: the input
// gradient of a convolution is the transposed convolution (exact), and the weight gradient comes
// from libtorch's autograd over the forward pass, kept by Conv2dTaped (or recomputed).
internal sealed partial class TorchRawTensor
{
    /// <inheritdoc/>
    public override RawTensor MatMul(RawTensor b, bool transA, bool transB)
    {
        var bs = Other(b);
        return Op(() => (transA ? T.t() : T).mm(transB ? bs.t() : bs));
    }

    private static long[] Stride(ConvGeometry g) => [g.StrideH, g.StrideW];
    private static long[] Pad(ConvGeometry g) => [g.PadH, g.PadW];
    private static long[] Dilation(ConvGeometry g) => [g.DilationH, g.DilationW];

    // Rows and columns of the forward input that the forward convolution did not reach: the
    // transposed convolution's output padding.
    private static long[] OutputPad(ConvGeometry g) =>
    [
        g.H - ((g.Ho - 1) * g.StrideH - 2 * g.PadH + g.DilationH * (g.Kh - 1) + 1),
        g.W - ((g.Wo - 1) * g.StrideW - 2 * g.PadW + g.DilationW * (g.Kw - 1) + 1),
    ];

    /// <inheritdoc/>
    public override RawTensor Conv2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        var w = Other(weight); var b = bias is null ? null : Other(bias);
        return Op(() => F.conv2d(T, w, b, Stride(g), Pad(g), Dilation(g)));
    }

    /// <inheritdoc/>
    public override RawTensor Conv2dBackwardInput(RawTensor weight, ConvGeometry g)
    {
        var w = Other(weight);
        return Op(() => F.conv_transpose2d(T, w, null, Stride(g), Pad(g), OutputPad(g), Dilation(g)));
    }

    /// <inheritdoc/>
    public override RawTensor Conv2dBackwardWeight(RawTensor dy, ConvGeometry g)
    {
        // Not on the taped path (Conv2dTaped keeps the forward pass): recompute it once here.
        var d = Other(dy);
        var x = T;
        return Op(() =>
        {
            using var grad = torch.enable_grad();
            var w = torch.zeros([g.Cout, g.Cin, g.Kh, g.Kw], torch.float32, backend.Device).requires_grad_(true);
            var y = F.conv2d(x.detach(), w, null, Stride(g), Pad(g), Dilation(g));
            return Grads(y, [w], d)[0] ?? torch.zeros_like(w);
        });
    }

    /// <inheritdoc/>
    public override RawTensor ConvTranspose2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        var w = Other(weight); var b = bias is null ? null : Other(bias);
        return Op(() => F.conv_transpose2d(T, w, b, Stride(g), Pad(g), OutputPad(g), Dilation(g)));
    }

    /// <inheritdoc/>
    public override (RawTensor Result, ConvBackward? Backward) Conv2dTaped(RawTensor weight, RawTensor? bias, ConvGeometry g, bool inputGrad, bool weightGrad)
    {
        var w = Other(weight); var b = bias is null ? null : Other(bias);
        return Taped(inputGrad, weightGrad, w, (x, wr) => F.conv2d(x, wr, b, Stride(g), Pad(g), Dilation(g)));
    }

    /// <inheritdoc/>
    public override (RawTensor Result, ConvBackward? Backward) ConvTranspose2dTaped(RawTensor weight, RawTensor? bias, ConvGeometry g, bool inputGrad, bool weightGrad)
    {
        var w = Other(weight); var b = bias is null ? null : Other(bias);
        return Taped(inputGrad, weightGrad, w, (x, wr) => F.conv_transpose2d(x, wr, b, Stride(g), Pad(g), OutputPad(g), Dilation(g)));
    }

    // The forward pass under libtorch autograd with detached leaves that ask for exactly the
    // gradients our tape needs; the result handed to our AD is detached (no libtorch graph grows
    // past this op), the record keeps the attached one.
    private (RawTensor, ConvBackward?) Taped(bool inputGrad, bool weightGrad, TT w, Func<TT, TT, TT> forward)
    {
        if (!inputGrad && !weightGrad) return (Op(() => forward(T, w)), null);
        TT xr, wr, y, result;
        using (var scope = torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            xr = T.detach().requires_grad_(inputGrad);
            wr = w.detach().requires_grad_(weightGrad);
            y = forward(xr, wr);
            result = y.detach();
            xr.MoveToOuterDisposeScope(); wr.MoveToOuterDisposeScope(); y.MoveToOuterDisposeScope(); result.MoveToOuterDisposeScope();
        }
        GC.KeepAlive(this); GC.KeepAlive(w); // see Wrap
        var record = new TorchConvBackward(backend, y, inputGrad ? xr : null, weightGrad ? wr : null, [xr, wr]);
        return (new TorchRawTensor(result, backend), record);
    }

    /// <summary>
    /// libtorch autograd gradients of y (seeded with dy) for <paramref name="inputs"/>; null for an
    /// input y does not reach. Always allow_unused: without it, an unreached input aborts the whole
    /// process in native code instead of raising an exception; with it, such an input comes back as
    /// an invalid tensor handle.
    /// </summary>
    internal static TT?[] Grads(TT y, TT[] inputs, TT dy)
    {
        var gs = torch.autograd.grad([y], inputs, [dy], retain_graph: true, allow_unused: true);
        var r = new TT?[inputs.Length];
        for (int i = 0; i < r.Length; i++) r[i] = gs[i] is { IsInvalid: false } gi ? gi : null;
        return r;
    }
}

/// <summary>A libtorch autograd record of one convolution forward pass; freed with its arena scope or by the GC.</summary>
internal sealed class TorchConvBackward : ConvBackward, IDisposable
{
    private readonly TorchBackend backend;
    private readonly TT y;
    private readonly TT? x, w;
    private readonly TT[] owned;
    private readonly TT[] inputs;

    internal TorchConvBackward(TorchBackend backend, TT y, TT? x, TT? w, TT[] owned)
    {
        this.backend = backend; this.y = y; this.x = x; this.w = w; this.owned = owned;
        inputs = x is null ? [w!] : w is null ? [x] : [x, w];
        TensorArena.Adopt(this);
    }

    /// <inheritdoc/>
    public override (RawTensor? Input, RawTensor? Weight) Run(RawTensor dy)
    {
        ArgumentNullException.ThrowIfNull(dy);
        Backend.CheckSame("conv backward", backend, dy);
        var d = ((TorchRawTensor)dy).T;
        TT?[] gs;
        using (var scope = torch.NewDisposeScope())
        {
            gs = TorchRawTensor.Grads(y, inputs, d);
            foreach (var g in gs) g?.MoveToOuterDisposeScope();
        }
        GC.KeepAlive(dy); // alive until libtorch's autograd has read it (see TorchRawTensor.Wrap)
        TorchRawTensor? Wrap(TT? g) => g is null ? null : new TorchRawTensor(g, backend);
        return x is null ? (null, Wrap(gs[0])) : w is null ? (Wrap(gs[0]), null) : (Wrap(gs[0]), Wrap(gs[1]));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        y.Dispose();
        foreach (var t in owned) t.Dispose();
    }
}
