using VqVae.Functional.Codebooks;
using VqVae.Functional.Evaluation;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>Held-out figures of a VQ-VAE-2 over a whole set of images, in pixel space [0, 1].</summary>
/// <param name="Count">Images evaluated.</param>
/// <param name="Mse">Mean squared reconstruction error over every pixel of the set.</param>
/// <param name="MseOverVar">Mse divided by the variance of the set's pixels.</param>
/// <param name="Psnr">10·log10(1 / Mse), dB.</param>
/// <param name="Top">Top code usage over every top position of the set (perplexity, codes used).</param>
/// <param name="Bottom">Bottom code usage over every bottom position of the set.</param>
public sealed record VqVae2EvalReport(int Count, double Mse, double MseOverVar, double Psnr, CodeUsage Top, CodeUsage Bottom);

/// <summary>Evaluates a VQ-VAE-2 on held-out images: one inference pass per batch, sums kept over the whole set.</summary>
/// <example><code>
/// var r = VqVae2Evaluation.Evaluate(model, heldOutBatches);
/// Console.WriteLine($"MSE {r.Mse:G4}; codes used: top {r.Top.Used}/{r.Top.Codes}, bottom {r.Bottom.Used}/{r.Bottom.Codes}");
/// </code></example>
public static class VqVae2Evaluation
{
    /// <summary>The figures of <paramref name="model"/> over every image of <paramref name="batches"/> (pixels in [0, 1]).</summary>
    /// <exception cref="ArgumentException">No images, or a batch the model cannot take (named by its index).</exception>
    public static VqVae2EvalReport Evaluate(VqVae2Model model, IEnumerable<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(batches);
        var top = CodeUsage.Empty(model.Config.TopCodebookSize);
        var bottom = CodeUsage.Empty(model.Config.BottomCodebookSize);
        var errors = new PixelErrors();
        int images = 0, index = 0;
        using (NoGradScope.Begin())
        {
            foreach (var x in batches)
            {
                VqVae2Model.CheckImages(model.Config, x, $"batches[{index}]");
                var t = VqVae2Model.LossTerms(model, x);
                errors = errors.Add(x, t.XHat);
                top = top.Add(t.TopQuantized.Indices.ToArray());
                bottom = bottom.Add(t.BottomQuantized.Indices.ToArray());
                images += x.Shape[0]; index++;
            }
        }
        if (images == 0) throw new ArgumentException("batches must hold at least one image.", nameof(batches));
        return new(images, errors.Mse, errors.MseOverVariance, errors.Psnr, top, bottom);
    }
}
