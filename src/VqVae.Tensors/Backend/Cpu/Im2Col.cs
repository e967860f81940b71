using System.Runtime.CompilerServices;
namespace VqVae.Tensors.Backend.Cpu;

/// <summary>
/// Lowering between one image and its column matrix: row r = (ci, kh, kw) of the kernel window,
/// column = output pixel (oh, ow). Several images sit side by side in one matrix (ld = row stride),
/// so one GEMM covers a group of images.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>Output columns ow whose input column ow·stride + off lies in [0, size): [lo, hi).</summary>
    private static (int lo, int hi) Valid(int off, int stride, int size, int outSize)
    {
        // ow ≥ ceil(−off / stride) and ow ≤ floor((size − 1 − off) / stride)
        int lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int hiIncl = size - 1 - off;
        int hi = hiIncl < 0 ? 0 : hiIncl / stride + 1;
        return (Math.Min(lo, outSize), Math.Clamp(hi, Math.Min(lo, outSize), outSize));
    }

    /// <summary>cols[r, 0..Ho·Wo) for image x ([Cin,H,W]); zero where the window hangs over padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Lower(ConvGeometry g, float* x, float* cols, long ld)
    {
        int ho = g.Ho, wo = g.Wo;
        long r = 0;
        for (int ci = 0; ci < g.Cin; ci++)
        for (int kh = 0; kh < g.Kh; kh++)
        {
            int offH = kh * g.DilationH - g.PadH;
            var (ohLo, ohHi) = Valid(offH, g.StrideH, g.H, ho);
            for (int kw = 0; kw < g.Kw; kw++, r++)
            {
                int offW = kw * g.DilationW - g.PadW;
                var (owLo, owHi) = Valid(offW, g.StrideW, g.W, wo);
                float* dst = cols + r * ld;
                new Span<float>(dst, ohLo * wo).Clear();
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* d = dst + oh * wo;
                    float* src = x + ((long)ci * g.H + oh * g.StrideH + offH) * g.W + offW;
                    for (int ow = 0; ow < owLo; ow++) d[ow] = 0f;
                    if (g.StrideW == 1)
                        new ReadOnlySpan<float>(src + owLo, owHi - owLo).CopyTo(new Span<float>(d + owLo, owHi - owLo));
                    else
                        for (int ow = owLo; ow < owHi; ow++) d[ow] = src[ow * g.StrideW];
                    for (int ow = owHi; ow < wo; ow++) d[ow] = 0f;
                }
                new Span<float>(dst + ohHi * wo, (ho - ohHi) * wo).Clear();
            }
        }
    }

    /// <summary>
    /// The transpose of <see cref="Lower"/>: row q = output pixel, column r = (ci, kh, kw), so a GEMM
    /// can read it as a non-transposed B (contiguous packing) when it is the reduction-side operand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LowerTransposed(ConvGeometry g, float* x, float* colsT, long ld)
    {
        int wo = g.Wo;
        for (int oh = 0; oh < g.Ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        {
            float* d = colsT + (oh * (long)wo + ow) * ld;
            int iw0 = ow * g.StrideW - g.PadW;
            for (int ci = 0; ci < g.Cin; ci++)
            for (int kh = 0; kh < g.Kh; kh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H)
                {
                    for (int kw = 0; kw < g.Kw; kw++) *d++ = 0f;
                    continue;
                }
                float* row = x + ((long)ci * g.H + ih) * g.W;
                for (int kw = 0, iw = iw0; kw < g.Kw; kw++, iw += g.DilationW)
                    *d++ = (uint)iw < (uint)g.W ? row[iw] : 0f;
            }
        }
    }

    /// <summary>dx ([Cin,H,W], already zeroed) += the adjoint of <see cref="Lower"/> applied to cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Raise(ConvGeometry g, float* cols, long ld, float* dx)
    {
        int wo = g.Wo;
        long r = 0;
        for (int ci = 0; ci < g.Cin; ci++)
        for (int kh = 0; kh < g.Kh; kh++)
        {
            int offH = kh * g.DilationH - g.PadH;
            var (ohLo, ohHi) = Valid(offH, g.StrideH, g.H, g.Ho);
            for (int kw = 0; kw < g.Kw; kw++, r++)
            {
                int offW = kw * g.DilationW - g.PadW;
                var (owLo, owHi) = Valid(offW, g.StrideW, g.W, wo);
                float* src = cols + r * ld;
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* s = src + oh * wo;
                    float* d = dx + ((long)ci * g.H + oh * g.StrideH + offH) * g.W + offW;
                    if (g.StrideW == 1)
                        for (int ow = owLo; ow < owHi; ow++) d[ow] += s[ow];
                    else
                        for (int ow = owLo; ow < owHi; ow++) d[ow * g.StrideW] += s[ow];
                }
            }
        }
    }
}
