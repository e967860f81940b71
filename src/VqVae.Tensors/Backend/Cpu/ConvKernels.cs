namespace VqVae.Tensors.Backend.Cpu;

/// <summary>
/// Raw 2-D convolution kernels, NCHW, PyTorch weight layout [Cout,Cin,Kh,Kw].
/// (Placeholder: straightforward loops, to be replaced by GEMM-based kernels.)
/// The three kernels also give the transposed convolution: its forward is BackwardInput,
/// its input gradient is Forward, its weight gradient is BackwardWeight with the roles swapped.
/// </summary>
public static class ConvKernels
{
    /// <summary>y[N,Cout,Ho,Wo] = conv(x[N,Cin,H,W], w) + bias (bias may be empty). Overwrites y.</summary>
    public static void Forward(ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oh = 0; oh < g.Ho; oh++)
        for (int ow = 0; ow < g.Wo; ow++)
        {
            float s = bias.IsEmpty ? 0f : bias[co];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int kh = 0; kh < g.Kh; kh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H) continue;
                for (int kw = 0; kw < g.Kw; kw++)
                {
                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.W) continue;
                    s += x[((n * g.Cin + ci) * g.H + ih) * g.W + iw] * w[((co * g.Cin + ci) * g.Kh + kh) * g.Kw + kw];
                }
            }
            y[((n * g.Cout + co) * g.Ho + oh) * g.Wo + ow] = s;
        }
    }

    /// <summary>dx[N,Cin,H,W] = adjoint of Forward applied to dy[N,Cout,Ho,Wo]. Overwrites dx.</summary>
    public static void BackwardInput(ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        dx.Clear();
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oh = 0; oh < g.Ho; oh++)
        for (int ow = 0; ow < g.Wo; ow++)
        {
            float d = dy[((n * g.Cout + co) * g.Ho + oh) * g.Wo + ow];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int kh = 0; kh < g.Kh; kh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H) continue;
                for (int kw = 0; kw < g.Kw; kw++)
                {
                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.W) continue;
                    dx[((n * g.Cin + ci) * g.H + ih) * g.W + iw] += d * w[((co * g.Cin + ci) * g.Kh + kh) * g.Kw + kw];
                }
            }
        }
    }

    /// <summary>dw[Cout,Cin,Kh,Kw] = gradient of Forward's output · dy with respect to w. Overwrites dw.</summary>
    public static void BackwardWeight(ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        dw.Clear();
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oh = 0; oh < g.Ho; oh++)
        for (int ow = 0; ow < g.Wo; ow++)
        {
            float d = dy[((n * g.Cout + co) * g.Ho + oh) * g.Wo + ow];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int kh = 0; kh < g.Kh; kh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H) continue;
                for (int kw = 0; kw < g.Kw; kw++)
                {
                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.W) continue;
                    dw[((co * g.Cin + ci) * g.Kh + kh) * g.Kw + kw] += d * x[((n * g.Cin + ci) * g.H + ih) * g.W + iw];
                }
            }
        }
    }
}
