using VqVae.Functional.Codebooks;
using VqVae.Functional.Model;
using VqVae.Data.Datasets;
using VqVae.Data.Images;
using VqVae.Data.Charts;

namespace VqVae.Cli.Train;

/// <summary>The pictures a run leaves behind, drawn from what the library computed: reconstructions, codebook usage and the codebook atlas.</summary>
internal static class Artifacts
{
    /// <summary>A fixed evaluation batch: the first images of the dataset (pixels; the model applies its own input range).</summary>
    public static Tensor EvalBatch(Dataset data, int count)
    {
        var d = data.Take(count);
        return Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width);
    }

    /// <summary>Originals above their reconstructions, 8 per band, each pixel drawn 2×2.</summary>
    public static Image Reconstructions(VqVaeModel model, Tensor x)
    {
        var s = x.Shape;
        var xHat = VqVaeModel.Reconstruct(model, x);
        return Pictures.ReconstructionGrid(x.ToArray(), xHat.ToArray(), s[0], s[1], s[2], s[3],
            columns: Math.Min(8, s[0]), scale: 2);
    }

    /// <summary>Originals above a VQ-VAE-2's reconstructions, 8 per band, each pixel drawn 2×2.</summary>
    public static Image Reconstructions(VqVae.Functional.Hierarchical.VqVae2Model model, Tensor x)
    {
        var s = x.Shape;
        var xHat = VqVae.Functional.Hierarchical.VqVae2Model.Reconstruct(model, x);
        return Pictures.ReconstructionGrid(x.ToArray(), xHat.ToArray(), s[0], s[1], s[2], s[3],
            columns: Math.Min(8, s[0]), scale: 2);
    }

    /// <summary>Sorted codebook usage over the window (dead codes marked), drawn by ScottPlot.</summary>
    public static Image Usage(CodeUsage usage, int steps) =>
        CodebookUsageChart.Draw(usage.Counts, Period(steps));

    /// <summary>The codebook in 2-D (PCA), each code's area by its use over the window.</summary>
    public static Image CodebookPca(VqVaeModel model, CodeUsage usage, int steps)
    {
        var e = model.Codebook.Embedding;
        return CodebookPcaChart.Draw(e.ToArray(), e.Shape[0], e.Shape[1], usage.Counts, Period(steps));
    }

    /// <summary>The training curves of a run's metrics.csv.</summary>
    public static Image Curves(string metricsCsv, int codebookSize) =>
        TrainingCurves.Draw(MetricsTable.Read(metricsCsv), codebookSize);

    private static string Period(int steps) => steps == 1 ? "over the last step" : $"over the last {steps} steps";

    /// <summary>The library's <see cref="CodebookAtlas"/> as a picture, 16 tiles per row.</summary>
    public static Image Atlas(VqVaeModel model, CodeUsage usage, int latentHeight, int latentWidth)
    {
        var atlas = CodebookAtlas.Of(model, usage, latentHeight, latentWidth);
        var s = atlas.Tiles.Shape;
        return Pictures.Atlas(atlas.Tiles.ToArray(), s[0], s[1], s[2], s[3], Math.Min(16, s[0]), scale: 2);
    }
}
