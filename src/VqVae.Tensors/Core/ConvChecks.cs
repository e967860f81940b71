using VqVae.Tensors.Backends;

namespace VqVae.Tensors;

/// <summary>Argument checks and geometry for the convolutions, with errors that name the argument.</summary>
internal static class ConvChecks
{
    internal static ConvGeometry Forward(string op, Tensor input, Tensor weight, Tensor? b, int sh, int sw, int ph, int pw, int dh, int dw)
    {
        ArgumentNullException.ThrowIfNull(input); ArgumentNullException.ThrowIfNull(weight);
        Hyper(op, sh, sw, ph, pw, dh, dw);
        var xs = input.Raw.Shape; var ws = weight.Raw.Shape;
        if (xs.Length != 4) throw new ArgumentException($"{op}: input must be [N,Cin,H,W], got {ShapeUtil.Format(xs)}.", "input");
        if (ws.Length != 4) throw new ArgumentException($"{op}: weight must be [Cout,Cin,Kh,Kw], got {ShapeUtil.Format(ws)}.", "weight");
        if (ws[1] != xs[1]) throw new ArgumentException($"{op}: weight must be [Cout,{xs[1]},Kh,Kw] for an input with {xs[1]} channels, got {ShapeUtil.Format(ws)}.", "weight");
        CheckBias(op, b, ws[0]);
        int ho = ConvGeometry.OutSize(xs[2], ws[2], sh, ph, dh), wo = ConvGeometry.OutSize(xs[3], ws[3], sw, pw, dw);
        if (xs[2] + 2 * ph - dh * (ws[2] - 1) - 1 < 0 || xs[3] + 2 * pw - dw * (ws[3] - 1) - 1 < 0)
            throw new ArgumentException($"{op}: the dilated kernel {ws[2]}×{ws[3]} (dilation {dh},{dw}) is larger than the padded input {xs[2] + 2 * ph}×{xs[3] + 2 * pw} (input {ShapeUtil.Format(xs)}).", "weight");
        return new ConvGeometry(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], sh, sw, ph, pw, dh, dw, ho, wo);
    }

    internal static ConvGeometry Transposed(Tensor input, Tensor weight, Tensor? b, int sh, int sw, int ph, int pw, int oph, int opw, int dh, int dw)
    {
        const string op = "convTranspose2d";
        ArgumentNullException.ThrowIfNull(input); ArgumentNullException.ThrowIfNull(weight);
        Hyper(op, sh, sw, ph, pw, dh, dw);
        if (oph < 0 || opw < 0 || (oph >= sh && oph >= dh) || (opw >= sw && opw >= dw))
            throw new ArgumentOutOfRangeException("outputPadding", $"{op}: outputPadding must be non-negative and smaller than stride or dilation, got ({oph},{opw}) with stride ({sh},{sw}) and dilation ({dh},{dw}).");
        var xs = input.Raw.Shape; var ws = weight.Raw.Shape;
        if (xs.Length != 4) throw new ArgumentException($"{op}: input must be [N,Cin,H,W], got {ShapeUtil.Format(xs)}.", "input");
        if (ws.Length != 4) throw new ArgumentException($"{op}: weight must be [Cin,Cout,Kh,Kw], got {ShapeUtil.Format(ws)}.", "weight");
        if (ws[0] != xs[1]) throw new ArgumentException($"{op}: weight must be [{xs[1]},Cout,Kh,Kw] for an input with {xs[1]} channels, got {ShapeUtil.Format(ws)}.", "weight");
        CheckBias(op, b, ws[1]);
        int ho = (xs[2] - 1) * sh - 2 * ph + dh * (ws[2] - 1) + oph + 1;
        int wo = (xs[3] - 1) * sw - 2 * pw + dw * (ws[3] - 1) + opw + 1;
        if (ho <= 0 || wo <= 0) throw new ArgumentException($"{op}: the output would be {ho}×{wo} for input {ShapeUtil.Format(xs)}; reduce padding.", "padding");
        return new ConvGeometry(xs[0], ws[1], ho, wo, xs[1], ws[2], ws[3], sh, sw, ph, pw, dh, dw, xs[2], xs[3]);
    }

    private static void Hyper(string op, int sh, int sw, int ph, int pw, int dh, int dw)
    {
        if (sh < 1 || sw < 1) throw new ArgumentOutOfRangeException("stride", $"{op}: stride must be ≥ 1, got ({sh},{sw}).");
        if (ph < 0 || pw < 0) throw new ArgumentOutOfRangeException("padding", $"{op}: padding must be ≥ 0, got ({ph},{pw}).");
        if (dh < 1 || dw < 1) throw new ArgumentOutOfRangeException("dilation", $"{op}: dilation must be ≥ 1, got ({dh},{dw}).");
    }

    private static void CheckBias(string op, Tensor? b, int channels)
    {
        if (b is not null && (b.Rank != 1 || b.Raw.Shape[0] != channels))
            throw new ArgumentException($"{op}: bias must be [{channels}], got {ShapeUtil.Format(b.Raw.Shape)}.", "bias");
    }
}
