using VqVae.Functional;
using VqVae.Functional.Data;
using VqVae.Functional.Images;

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
        var xHat = VqVae.Functional.VqVae.Reconstruct(model, x);
        return Pictures.ReconstructionGrid(ImageScale.ToPixels(cfg, x), ImageScale.ToPixels(cfg, xHat), s[0], s[1], s[2], s[3],
            columns: Math.Min(8, s[0]), scale: 2);
    }

    public static Image Usage(long[] counts, int steps)
    {
        var ints = counts.Select(c => (int)Math.Min(c, int.MaxValue)).ToArray();
        return Pictures.CodebookUsage(ints, title: $"Codebook usage over the last {steps} step(s): {ints.Count(c => c > 0)} of {ints.Length} codes used");
    }

    /// <summary>Every code decoded on its own: a latent grid filled with code k, decoded; one tile per code.</summary>
    public static Image Atlas(VqVaeModel model, int latentHeight, int latentWidth)
    {
        int k = model.Codebook.Size, chunk = 64;
        var cfg = model.Config;
        var tiles = new List<float>();
        int h = latentHeight * cfg.Downsampling, w = latentWidth * cfg.Downsampling;
        for (int start = 0; start < k; start += chunk)
        {
            int n = Math.Min(chunk, k - start), cells = latentHeight * latentWidth;
            var codes = new int[n * cells];
            for (int i = 0; i < n; i++) Array.Fill(codes, start + i, i * cells, cells);
            var images = VqVae.Functional.VqVae.DecodeCodes(model, CodeIndices.Of(codes, n, latentHeight, latentWidth));
            tiles.AddRange(ImageScale.ToPixels(cfg, images));
        }
        int columns = (int)Math.Ceiling(Math.Sqrt(k));
        return Pictures.Atlas(tiles.ToArray(), k, cfg.Channels, h, w, columns, scale: 1);
    }
}
