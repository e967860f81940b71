using System.Globalization;
using System.Text;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Training;

/// <summary>
/// metrics.csv of a training run: one row per step with the loss terms, the batch's perplexity and
/// codes, the usage over the trainer's sliding window, and the throughput.
/// </summary>
/// <example><code>
/// var rows = new List&lt;string&gt;();
/// var run = Trainer.Run(adam, model, state, batches, new TrainOptions { OnStep = r => rows.Add(MetricsCsv.Row(r)) });
/// MetricsCsv.Write("metrics.csv", rows);
/// </code></example>
public static class MetricsCsv
{
    /// <summary>The header line.</summary>
    public const string Header = "step,recon,codebook,commitment,total,perplexity,used_codes,window_perplexity,window_used_codes,window_dead_codes,images_per_s";

    /// <summary>One row for a step's report.</summary>
    public static string Row(StepReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var m = r.Metrics;
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.Step},{m.Recon:G7},{m.Codebook:G7},{m.Commitment:G7},{m.Total:G7},{m.Perplexity:F4},{m.UsedCodes},{r.Window.Perplexity:F4},{r.Window.Used},{r.Window.Dead},{r.ImagesPerSecond:F1}");
    }

    /// <summary>
    /// The rows of the metrics.csv at <paramref name="path"/> up to and including optimizer step <paramref name="upToStep"/>
    /// (a resumed run carries the curve it continues); none when the file is absent or has another header.
    /// </summary>
    public static IReadOnlyList<string> ReadRows(string path, int upToStep)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != Header) return [];
        int fields = Header.Split(',').Length;
        return lines.Skip(1)
            .Where(l => l.Split(',') is var f && f.Length == fields
                && int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int step) && step <= upToStep)
            .ToList();
    }

    /// <summary>Writes the header and rows atomically (a reader never sees half a file).</summary>
    public static void Write(string path, IEnumerable<string> rows) => Write(path, Header, rows);

    /// <summary>A metrics file: <paramref name="header"/> and <paramref name="rows"/>, one per line, written atomically (both model kinds' files).</summary>
    internal static void Write(string path, string header, IEnumerable<string> rows)
    {
        // Stryker disable once Statement : equivalent, AtomicFile.WriteAllBytes refuses a null or empty path the same way, named "path"
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder(header).Append('\n');
        foreach (var row in rows) sb.Append(row).Append('\n');
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
