using ScottPlot;
using SkiaSharp;
using VqVae.Data.Images;

namespace VqVae.Data.Charts;

/// <summary>Renders ScottPlot plots into this project's <see cref="Images.Image"/> (RGB), one panel or several stacked.</summary>
internal static class ChartImage
{
    /// <summary>The plots stacked top to bottom, each <paramref name="panelHeight"/> pixels tall, on white; the plots are disposed.</summary>
    public static Images.Image Render(IReadOnlyList<Plot> panels, int width, int panelHeight)
    {
        ChartFont.Ensure();
        int height = panelHeight * panels.Count;
        // Each panel renders into a bitmap of its own (ScottPlot clears the whole canvas it is given), then is copied into its band.
        var rgb = new byte[width * height * 3];
        for (int p = 0; p < panels.Count; p++)
        {
            var info = new SKImageInfo(width, panelHeight, SKColorType.Rgba8888, SKAlphaType.Premul);
            using var bitmap = new SKBitmap(info);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(SKColors.White);
                panels[p].Render(canvas, width, panelHeight);
                canvas.Flush();
            }
            // The figure background is opaque white, so premultiplied RGBA is plain RGBA; drop the alpha.
            var rgba = bitmap.Bytes;
            int offset = p * width * panelHeight * 3;
            for (int i = 0, j = offset; i < rgba.Length; i += 4, j += 3)
            {
                rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
            }
        }
        foreach (var plot in panels) plot.Dispose();
        return new Images.Image(width, height, 3, rgb);
    }

    /// <summary>A plot with the house style: readable font sizes, the embedded font.</summary>
    public static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        ChartFont.Ensure();
        var plot = new Plot();
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        return plot;
    }
}
