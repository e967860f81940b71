using VqVae.Tensors;

namespace VqVae.Functional.Evaluation;

/// <summary>
/// The sums behind a held-out set's reconstruction figures, kept over every pixel of the set so that the figures are
/// the set's, not averages of per-batch figures. One home for both evaluators (VQ-VAE and VQ-VAE-2).
/// </summary>
internal readonly record struct PixelErrors(double SumSquaredError, double Sum, double SumSquares, long Pixels)
{
    /// <summary>These sums plus a batch of images <paramref name="x"/> and their reconstructions <paramref name="xHat"/> (same shape).</summary>
    public PixelErrors Add(Tensor x, Tensor xHat)
    {
        float[] a = x.ToArray(), b = xHat.ToArray();
        double sq = 0, sum = 0, x2 = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)b[i] - a[i];
            sq += d * d; x2 += (double)a[i] * a[i];
            // Stryker disable once Assignment : equivalent, the sum enters only squared (the variance's mean²), so its sign is never seen
            sum += a[i];
        }
        // Stryker disable once Arithmetic : equivalent, as above (Sum − sum only negates the mean)
        double total = Sum + sum;
        return new(SumSquaredError + sq, total, SumSquares + x2, Pixels + a.Length);
    }

    /// <summary>Mean squared error over every pixel.</summary>
    public double Mse => SumSquaredError / Pixels;

    /// <summary><see cref="Mse"/> over the variance of the images' pixels; NaN when they have none (a blank set).</summary>
    public double MseOverVariance
    {
        get
        {
            double mean = Sum / Pixels, variance = SumSquares / Pixels - mean * mean;
            return variance > 0 ? Mse / variance : double.NaN;
        }
    }

    /// <summary>10·log10(1 / <see cref="Mse"/>), dB, for pixels in [0, 1].</summary>
    public double Psnr => 10 * Math.Log10(1 / Mse);
}
