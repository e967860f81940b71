namespace VqVae.Tensors.Backends;

/// <summary>
/// Sizes of one 2-D convolution in PyTorch's terms: input [N,Cin,H,W], weight [Cout,Cin,Kh,Kw],
/// output [N,Cout,Ho,Wo]. A transposed convolution is described by the geometry of the forward
/// convolution it is the adjoint of (its output is this geometry's input).
/// </summary>
public sealed record ConvGeometry(
    int N, int Cin, int H, int W,
    int Cout, int Kh, int Kw,
    int StrideH, int StrideW,
    int PadH, int PadW,
    int DilationH, int DilationW,
    int Ho, int Wo)
{
    /// <summary>Output rows of a forward convolution for the given input size.</summary>
    public static int OutSize(int size, int kernel, int stride, int pad, int dilation) =>
        (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>Multiply-adds of the forward pass times two.</summary>
    public double Flops => 2.0 * N * Cout * Ho * Wo * Cin * Kh * Kw;
}
