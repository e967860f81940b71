using System.Globalization;
using VqVae.Functional.Training;

namespace VqVae.Functional.Hierarchical;

/// <summary>A VQ-VAE-2 run's <c>metrics.csv</c>: one row per step with the terms and code usage of each level.</summary>
public static class VqVae2MetricsCsv
{
    /// <summary>The header line.</summary>
    public const string Header = "step,recon,codebook_t,codebook_b,commitment_t,commitment_b,total,perplexity_t,perplexity_b,used_codes_t,used_codes_b,images_per_s";

    /// <summary>One row for a step's metrics and its throughput.</summary>
    public static string Row(VqVae2StepMetrics m, double imagesPerSecond)
    {
        ArgumentNullException.ThrowIfNull(m);
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.Step},{m.Recon:G7},{m.CodebookTop:G7},{m.CodebookBottom:G7},{m.CommitmentTop:G7},{m.CommitmentBottom:G7},{m.Total:G7},{m.PerplexityTop:F4},{m.PerplexityBottom:F4},{m.TopCounts.Count(c => c > 0)},{m.BottomCounts.Count(c => c > 0)},{imagesPerSecond:F1}");
    }

    /// <summary>Writes the header and rows atomically.</summary>
    public static void Write(string path, IEnumerable<string> rows) => MetricsCsv.Write(path, Header, rows);
}
