using System.Globalization;
using System.Text;
using VqVae.Functional.Training;

namespace VqVae.Cli.Output;

/// <summary>metrics.csv: one row per training step.</summary>
internal static class MetricsCsv
{
    public const string Header = "step,recon,codebook,commitment,total,perplexity,used_codes,images_per_s";

    public static string Row(StepMetrics m, double imagesPerSecond) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Step},{m.Recon:G7},{m.Codebook:G7},{m.Commitment:G7},{m.Total:G7},{m.Perplexity:F4},{m.UsedCodes},{imagesPerSecond:F1}");

    /// <summary>Writes the header and rows atomically (a reader never sees half a file).</summary>
    public static void Write(string path, IReadOnlyList<string> rows)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows) sb.Append(r).Append('\n');
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
