using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace VqVae.Data.Charts;

/// <summary>
/// curves.png: a training run's metrics.csv as three stacked charts sharing the step axis — the
/// loss terms (log scale), the perplexity of code use, and the number of codes in use — for the
/// batch and over the trainer's sliding window (the last epoch).
/// </summary>
/// <example><code>ImageFile.WritePng("curves.png", TrainingCurves.Draw(MetricsTable.Read("metrics.csv"), codebookSize: 512));</code></example>
public static class TrainingCurves
{
    // Codebook and commitment terms have the same value (both mean (z_q − z_e)²; they differ in where the
    // gradient goes), so the codebook line is dashed on top of the commitment line to show both.
    private static readonly (string Column, string Label, string Hex, bool Dashed)[] LossColumns =
    [
        ("total", "total loss", "#222222", false),
        ("recon", "reconstruction (MSE)", "#1f77b4", false),
        ("commitment", "commitment (before β)", "#d62728", false),
        ("codebook", "codebook (same value as commitment)", "#2ca02c", true),
    ];

    /// <summary>
    /// Draws the curves of <paramref name="metrics"/> (columns <c>step</c> and any of <c>recon</c>,
    /// <c>codebook</c>, <c>commitment</c>, <c>total</c>, <c>perplexity</c>, <c>window_perplexity</c>,
    /// <c>used_codes</c>, <c>window_used_codes</c>), <paramref name="panelHeight"/> pixels per chart.
    /// With <paramref name="codebookSize"/>, the codes chart marks the codebook's size K.
    /// </summary>
    public static Images.Image Draw(MetricsTable metrics, int? codebookSize = null, int width = 900, int panelHeight = 300)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!metrics.Has("step")) throw new ArgumentException($"metrics need a 'step' column; they have {string.Join(", ", metrics.Names)}.", nameof(metrics));
        if (metrics.Rows == 0) throw new ArgumentException("metrics hold no rows: there is nothing to draw.", nameof(metrics));
        if (width < 300) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 300.");
        if (panelHeight < 150) throw new ArgumentOutOfRangeException(nameof(panelHeight), panelHeight, "panelHeight must be at least 150.");
        if (codebookSize is < 1) throw new ArgumentOutOfRangeException(nameof(codebookSize), codebookSize, "codebookSize must be at least 1.");
        var steps = metrics.Column("step");
        return ChartImage.Render([Losses(metrics, steps), Perplexity(metrics, steps), Codes(metrics, steps, codebookSize)], width, panelHeight);
    }

    private static Plot Losses(MetricsTable m, double[] steps)
    {
        var plot = ChartImage.NewPlot("Loss terms per training batch", "training step", "loss (log scale)");
        foreach (var (column, label, hex, dashed) in LossColumns)
        {
            if (!m.Has(column)) continue;
            // Log scale: plot log10 of the positive values (a term that is exactly 0, like the codebook
            // term under EMA, has no place on it and is left out with its steps).
            var v = m.Column(column);
            var keep = Enumerable.Range(0, v.Length).Where(i => v[i] > 0 && double.IsFinite(v[i])).ToArray();
            if (keep.Length == 0) continue;
            var line = Line(plot, keep.Select(i => steps[i]).ToArray(), keep.Select(i => Math.Log10(v[i])).ToArray(), label, hex);
            if (dashed) line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot Perplexity(MetricsTable m, double[] steps)
    {
        var plot = ChartImage.NewPlot("Perplexity of code use (effective number of codes)", "training step", "perplexity");
        if (m.Has("perplexity")) Line(plot, steps, m.Column("perplexity"), "per batch", "#ff7f0e");
        if (m.Has("window_perplexity")) Line(plot, steps, m.Column("window_perplexity"), "over the last epoch", "#9467bd", 2);
        FromZero(plot, m, "perplexity", "window_perplexity");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot Codes(MetricsTable m, double[] steps, int? k)
    {
        var plot = ChartImage.NewPlot(k is { } kk ? $"Codes in use (of K = {kk})" : "Codes in use", "training step", "codes chosen at least once");
        if (m.Has("used_codes")) Line(plot, steps, m.Column("used_codes"), "per batch", "#8c564b");
        if (m.Has("window_used_codes")) Line(plot, steps, m.Column("window_used_codes"), "over the last epoch", "#17becf", 2);
        FromZero(plot, m, "used_codes", "window_used_codes");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    // A count axis starts at 0 (a collapse to few codes then looks like one) and ends a little above the largest value.
    private static void FromZero(Plot plot, MetricsTable m, params string[] columns)
    {
        double top = columns.Where(m.Has).SelectMany(m.Column).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsY(0, Math.Max(1, top) * 1.08);
    }

    private static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, double[] ys, string label, string hex, float width = 1.5f)
    {
        var s = plot.Add.ScatterLine(xs, ys, Color.FromHex(hex));
        s.LineWidth = width;
        s.LegendText = label;
        return s;
    }
}
