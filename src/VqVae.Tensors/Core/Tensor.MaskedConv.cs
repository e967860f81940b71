using VqVae.Tensors.Diagnostics;
namespace VqVae.Tensors;

// Masked convolution (PixelCNN): a fixed 0/1 mask multiplies the weight before the convolution,
// so masked taps contribute nothing forward and get an exact zero gradient.
public sealed partial class Tensor
{
    /// <summary>
    /// conv2d(input, weight · mask, bias): <paramref name="mask"/> is constant (never differentiated)
    /// and broadcasts to the weight [Cout,Cin,Kh,Kw], e.g. a [Kh,Kw] or [1,1,Kh,Kw] causal pattern.
    /// </summary>
    /// <example><code>var y = Tensor.MaskedConv2d(x, w, mask, b, padH: 1, padW: 1);</code></example>
    public static Tensor MaskedConv2d(Tensor input, Tensor weight, Tensor mask, Tensor? bias = null, int padH = 0, int padW = 0)
    {
        ArgumentNullException.ThrowIfNull(weight); ArgumentNullException.ThrowIfNull(mask);
        var b = ShapeUtil.Broadcast("maskedConv2d", mask.Raw.Shape, weight.Raw.Shape);
        if (!ShapeUtil.SameShape(b, weight.Raw.Shape))
            throw new ArgumentException($"maskedConv2d: mask of shape {ShapeUtil.Format(mask.Raw.Shape)} must broadcast to the weight's {ShapeUtil.Format(weight.Raw.Shape)}.", nameof(mask));
        using var _ = OpProfiler.Time("maskedConv2d");
        return Conv2d(input, weight * mask.NoDiff(), bias, 1, 1, padH, padW, 1, 1);
    }

    /// <summary>
    /// The gated activation tanh(a) · sigmoid(b), where a and b are the first and second halves of
    /// <paramref name="dim"/> (Gated PixelCNN; the channel count along dim must be even).
    /// </summary>
    public Tensor Gate(int dim = 1)
    {
        if (Rank == 0) throw new InvalidOperationException("gate: a scalar has no channel dimension.");
        int d = ShapeUtil.Dim("gate", dim, Rank, nameof(dim));
        int c = Raw.Shape[d];
        if (c % 2 != 0) throw new ArgumentException($"gate: dimension {d} must have an even size (two halves), got {c} in shape {ShapeUtil.Format(Raw.Shape)}.", nameof(dim));
        return Tanh(Narrow(d, 0, c / 2)) * Sigmoid(Narrow(d, c / 2, c / 2));
    }
}
