using System.Globalization;
using ScottPlot;

namespace VqVae.Data.Charts;

/// <summary>
/// codebook-pca.png: every code vector as a point on the codebook's first two principal components
/// (<see cref="CodebookProjection"/>), the point's area proportional to how often the code was
/// chosen; codes never chosen are small grey crosses.
/// </summary>
/// <example><code>ImageFile.WritePng("codebook-pca.png", CodebookPcaChart.Draw(weights, 512, 64, counts, "over the last 125 steps"));</code></example>
public static class CodebookPcaChart
{
    /// <summary>Draws the projection of <paramref name="codebook"/> (row-major [codes, dim]) with usage <paramref name="counts"/>.</summary>
    public static Images.Image Draw(float[] codebook, int codes, int dim, IReadOnlyList<long> counts, string period = "", int width = 800, int height = 700)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(period);
        if (counts.Count != codes) throw new ArgumentException($"counts must hold one count per code ({codes}), but has {counts.Count}.", nameof(counts));
        for (int i = 0; i < counts.Count; i++)
            if (counts[i] < 0) throw new ArgumentException($"counts[{i}] is {counts[i]}; counts must be non-negative.", nameof(counts));
        if (width < 300) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 300.");
        if (height < 300) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 300.");
        var p = CodebookProjection.Pca(codebook, codes, dim);

        var inv = CultureInfo.InvariantCulture;
        int used = counts.Count(c => c > 0);
        var plot = ChartImage.NewPlot(
            string.Create(inv, $"Codebook in 2-D (PCA of the {codes} code vectors, D = {dim}); area = use{(period.Length > 0 ? " " + period : "")}"),
            string.Create(inv, $"principal component 1 ({100 * p.Explained[0]:F1}% of variance)"),
            string.Create(inv, $"principal component 2 ({100 * p.Explained[1]:F1}% of variance)"));

        var deadIdx = Enumerable.Range(0, codes).Where(i => counts[i] == 0).ToArray();
        if (deadIdx.Length > 0)
        {
            var dead = plot.Add.Markers(deadIdx.Select(i => p.X[i]).ToArray(), deadIdx.Select(i => p.Y[i]).ToArray(),
                MarkerShape.Eks, 5, Color.FromHex("#999999"));
            dead.LegendText = $"dead (never chosen): {deadIdx.Length}";
        }
        long max = counts.DefaultIfEmpty(0).Max();
        var fill = Color.FromHex("#1f5fb4").WithAlpha(0.55);
        bool first = true;
        // Most used first, so small points stay visible on top of large ones.
        foreach (int i in Enumerable.Range(0, codes).Where(i => counts[i] > 0).OrderByDescending(i => counts[i]))
        {
            float size = (float)(4 + 36 * Math.Sqrt((double)counts[i] / max)); // diameter ∝ √count: area ∝ count
            var mk = plot.Add.Marker(p.X[i], p.Y[i], MarkerShape.FilledCircle, size, fill);
            if (first) { mk.LegendText = $"used: {used} (largest: code {i}, chosen {counts[i].ToString("N0", inv)} times)"; first = false; }
        }
        plot.ShowLegend(Alignment.UpperRight);
        return ChartImage.Render([plot], width, height);
    }
}
