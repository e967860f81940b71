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
        var usage = CodeUsage.Empty(cfg.CodebookSize);
        var errors = new PixelErrors();
        int images = 0, index = 0;
        using (NoGradScope.Begin())
        {
            foreach (var x in batches)
            {
                VqVaeModel.CheckImages(cfg, x, $"batches[{index}]");
                // Encode applies the model's input range itself (pixels in, as for every surface).
                var q = VqVaeModel.Quantize(model, VqVaeModel.Encode(model, x));
                errors = errors.Add(x, VqVaeModel.ToPixels(cfg, model.Decoder.Apply(q.DecoderInput)));
                usage = usage.Add(q.Indices.ToArray());
                images += x.Shape[0];
                index++;
            }
        }
        if (images == 0) throw new ArgumentException("batches must hold at least one image.", nameof(batches));
        return new EvalReport(images, errors.Mse, errors.MseOverVariance, errors.Psnr, usage.Perplexity, usage.Used, usage.Codes);
    }
}
