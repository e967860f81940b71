using System.Globalization;
using ScottPlot;

namespace VqVae.Data.Charts;

/// <summary>
/// codebook-usage.png: how often each code was chosen, codes sorted from most to least used, with
/// the codes never chosen (dead) marked in red on the axis and counted in the legend.
/// </summary>
/// <example><code>ImageFile.WritePng("codebook-usage.png", CodebookUsageChart.Draw(counts, "over the last 125 steps"));</code></example>
public static class CodebookUsageChart
{
    /// <summary>Draws the sorted usage of <paramref name="counts"/> (one non-negative count per code).</summary>
    /// <param name="counts">How often each code was chosen.</param>
    /// <param name="period">What the counts cover, for the title (e.g. "over the last 125 steps"); may be empty.</param>
    /// <param name="width">Width in pixels (≥ 300).</param>
    /// <param name="height">Height in pixels (≥ 200).</param>
    public static Images.Image Draw(IReadOnlyList<long> counts, string period = "", int width = 900, int height = 380)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(period);
        if (counts.Count == 0) throw new ArgumentException("counts must hold at least one code.", nameof(counts));
        for (int i = 0; i < counts.Count; i++)
            if (counts[i] < 0) throw new ArgumentException($"counts[{i}] is {counts[i]}; counts must be non-negative.", nameof(counts));
        if (width < 300) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 300.");
        if (height < 200) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 200.");

        int k = counts.Count;
        var sorted = counts.OrderByDescending(c => c).ToArray();
        int used = sorted.Count(c => c > 0), dead = k - used;
        long total = sorted.Sum();
        double entropy = 0;
        foreach (long c in sorted)
            if (c > 0) { double p = (double)c / total; entropy -= p * Math.Log(p); }
        var inv = CultureInfo.InvariantCulture;
        string title = string.Create(inv, $"Codebook usage{(period.Length > 0 ? " " + period : "")}: {used} of {k} codes used")
            + (total > 0 ? string.Create(inv, $", perplexity {Math.Exp(entropy):F1}") : "");
        var plot = ChartImage.NewPlot(title, $"codes ranked by use, most used first (K = {k})", "times chosen");

        if (used > 0)
        {
            var bars = plot.Add.Bars(Enumerable.Range(0, used).Select(i => (double)i), sorted.Take(used).Select(c => (double)c));
            bars.Color = Color.FromHex("#3c6eb4");
            foreach (var b in bars.Bars) { b.Size = 1; b.LineWidth = 0; }
            bars.LegendText = $"used: {used}";
        }
        if (dead > 0)
        {
            var ranks = Enumerable.Range(used, dead).Select(i => (double)i).ToArray();
            var marks = plot.Add.Markers(ranks, new double[dead], MarkerShape.VerticalBar, 8, Color.FromHex("#dc1e1e"));
            marks.LegendText = $"dead (never chosen): {dead}";
        }
        plot.Axes.SetLimitsX(-0.5, k - 0.5);
        plot.Axes.SetLimitsY(0, Math.Max(1, sorted[0]) * 1.08);
        plot.ShowLegend(Alignment.UpperRight);
        return ChartImage.Render([plot], width, height);
    }
}
