using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Data.Datasets;
using VqVae.Data.Images;

namespace VqVae.Cli.Train;

/// <summary>The pictures a run leaves behind: reconstructions, codebook usage and the codebook atlas.</summary>
internal static class Artifacts
{
    /// <summary>A fixed evaluation batch: the first images of the dataset, as the model sees them.</summary>
    public static Tensor EvalBatch(Dataset data, VqVaeConfig cfg, int count)
    {
        var d = data.Take(count);
        var x = Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width);
        return ImageScale.ToModel(cfg, x);
    }

    /// <summary>Originals above their reconstructions, 8 per band, each pixel drawn 2×2.</summary>
    public static Image Reconstructions(VqVaeModel model, Tensor x)
    {
        var cfg = model.Config;
        var s = x.Shape;
        var xHat = VqVaeModel.Reconstruct(model, x);
        return Pictures.ReconstructionGrid(ImageScale.ToPixels(cfg, x), ImageScale.ToPixels(cfg, xHat), s[0], s[1], s[2], s[3],
            columns: Math.Min(8, s[0]), scale: 2);
    }

    public static Image Usage(long[] counts, int steps)
    {
        var ints = counts.Select(c => (int)Math.Min(c, int.MaxValue)).ToArray();
        return Pictures.CodebookUsage(ints, title: $"Codebook usage over the last {steps} step(s): {ints.Count(c => c > 0)} of {ints.Length} codes used");
    }

    /// <summary>
    /// What each used code draws: a latent grid of the most used code (usually the background) with
    /// a 3×3 block of code k in the centre, decoded; one tile per used code, most used first (all codes when
    /// none was counted).
    /// </summary>
    public static Image Atlas(VqVaeModel model, long[] usage, int latentHeight, int latentWidth)
    {
        var cfg = model.Config;
        int k = model.Codebook.Size, chunk = 64, cells = latentHeight * latentWidth;
        var block = (from r in Enumerable.Range(latentHeight / 2 - 1, 3) from c in Enumerable.Range(latentWidth / 2 - 1, 3)
                     where r >= 0 && c >= 0 && r < latentHeight && c < latentWidth select r * latentWidth + c).ToArray();
        var order = Enumerable.Range(0, k).Where(i => usage[i] > 0).OrderByDescending(i => usage[i]).ThenBy(i => i).ToArray();
        if (order.Length == 0) order = Enumerable.Range(0, k).ToArray();
        int background = order[0];
        var tiles = new List<float>();
        for (int start = 0; start < order.Length; start += chunk)
        {
            int n = Math.Min(chunk, order.Length - start);
            var codes = new int[n * cells];
            Array.Fill(codes, background);
            for (int i = 0; i < n; i++) foreach (var cell in block) codes[i * cells + cell] = order[start + i];
            var images = VqVaeModel.DecodeCodes(model, CodeIndices.Of(codes, n, latentHeight, latentWidth));
            tiles.AddRange(ImageScale.ToPixels(cfg, images));
        }
        int columns = Math.Min(16, order.Length);
        return Pictures.Atlas(tiles.ToArray(), order.Length, cfg.Channels, latentHeight * cfg.Downsampling, latentWidth * cfg.Downsampling, columns, scale: 2);
    }
}
