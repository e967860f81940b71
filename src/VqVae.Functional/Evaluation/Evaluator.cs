using VqVae.Tensors;

namespace VqVae.Functional.Evaluation;

/// <summary>
/// Evaluates a model on held-out images: one inference pass per batch (no tape, BatchNorm in
/// evaluation mode), with the sums kept over the whole set so that every figure is the set's, not an
/// average of per-batch figures (perplexity in particular is not an average of batch perplexities).
/// </summary>
/// <example><code>
/// var report = Evaluator.Evaluate(model, heldOutBatches); // tensors [B, C, H, W], pixels in [0, 1]
/// Console.WriteLine($"MSE {report.Mse:G4}, PSNR {report.Psnr:F1} dB, perplexity {report.Perplexity:F1}");
/// </code></example>
public static class Evaluator
{
    /// <summary>The figures of <paramref name="model"/> over every image of <paramref name="batches"/>
    /// (pixels in [0, 1]; the model's <see cref="VqVaeConfig.InputShift"/> is applied once, by <see cref="VqVaeModel.Encode"/>).</summary>
    /// <exception cref="ArgumentException">No images, or a batch the model cannot take (named by its index).</exception>
    public static EvalReport Evaluate(VqVaeModel model, IEnumerable<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        var cfg = model.Config;
        int k = cfg.CodebookSize;
        var counts = new long[k];
        double sumSq = 0, sum = 0, sumX2 = 0;
        long pixels = 0;
        int images = 0, index = 0;
        using (NoGradScope.Begin())
        {
            foreach (var x in batches)
            {
                VqVaeModel.CheckImages(cfg, x, $"batches[{index}]");
                // Encode applies the model's input range itself (pixels in, as for every surface).
                var q = VqVaeModel.Quantize(model, VqVaeModel.Encode(model, x));
                var xHat = VqVaeModel.ToPixels(cfg, model.Decoder.Apply(q.DecoderInput));
                float[] a = x.ToArray(), b = xHat.ToArray();
                for (int i = 0; i < a.Length; i++)
                {
                    double d = (double)b[i] - a[i];
                    sumSq += d * d;
                    sum += a[i];
                    sumX2 += (double)a[i] * a[i];
                }
                foreach (int code in q.Indices.Values) counts[code]++;
                pixels += a.Length;
                images += x.Shape[0];
                index++;
            }
        }
        if (images == 0) throw new ArgumentException("batches must hold at least one image.", nameof(batches));

        double mse = sumSq / pixels;
        double mean = sum / pixels, variance = sumX2 / pixels - mean * mean;
        long rows = counts.Sum();
        double entropy = 0;
        foreach (long c in counts)
            if (c > 0) { double p = (double)c / rows; entropy -= p * Math.Log(p); }
        return new EvalReport(images, mse, variance > 0 ? mse / variance : double.NaN, 10 * Math.Log10(1 / mse),
            Math.Exp(entropy), counts.Count(c => c > 0), k);
    }
}
