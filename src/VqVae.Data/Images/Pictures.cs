using System.Globalization;

namespace VqVae.Data.Images;

/// <summary>
/// Pictures for looking at a training run: image atlases, original/reconstruction grids and a
/// codebook-usage bar chart. Images come as planar floats <c>[count, channels, height, width]</c>
/// in [0, 1] (values clamped; NaN is an error); channels is 1 (grey) or 3 (RGB). Results are RGB.
/// </summary>
public static class Pictures
{
    private static readonly Rgb Separator = new(70, 80, 110);
    private static readonly Rgb PairSeparator = new(150, 155, 170);
    private static readonly Rgb Bar = new(60, 110, 180);
    private static readonly Rgb Dead = new(220, 30, 30);
    private static readonly Rgb Grid = new(225, 228, 235);
    private static readonly Rgb Ink = new(30, 30, 30);

    /// <summary>
    /// The first <paramref name="count"/> images in a grid of <paramref name="columns"/> columns,
    /// separated by one-pixel lines, each image pixel drawn as a <paramref name="scale"/>² square
    /// (e.g. the decoded image of every code).
    /// </summary>
    /// <example><code>ImageFile.WritePng("codes.png", Pictures.Atlas(decoded, 512, 1, 28, 28, columns: 32));</code></example>
    public static Image Atlas(float[] images, int count, int channels, int height, int width, int columns, int scale = 1)
    {
        CheckImages(images, nameof(images), count, channels, height, width);
        CheckLayout(columns, scale);
        int cols = Math.Min(columns, count), rows = (count + columns - 1) / columns;
        int cw = width * scale, ch = height * scale;
        var canvas = new Canvas(cols * (cw + 1) + 1, rows * (ch + 1) + 1, Separator);
        for (int i = 0; i < count; i++)
            canvas.Blit(Slice(images, i, channels, height, width), 1 + i % columns * (cw + 1), 1 + i / columns * (ch + 1), scale);
        return canvas.ToImage();
    }

    /// <summary>
    /// Originals and their reconstructions: in each band of <paramref name="columns"/> images, the
    /// originals form the upper row and each reconstruction sits directly below its original
    /// (a thin light line between them, a wider dark band between groups). Rows are labelled
    /// IN and OUT when the images are at least 8 pixels tall after scaling.
    /// </summary>
    /// <example><code>ImageFile.WritePng("reconstructions.png", Pictures.ReconstructionGrid(x, xHat, 32, 1, 28, 28, columns: 8, scale: 2));</code></example>
    public static Image ReconstructionGrid(
        float[] originals, float[] reconstructions, int count, int channels, int height, int width, int columns, int scale = 1)
    {
        CheckImages(originals, nameof(originals), count, channels, height, width);
        CheckImages(reconstructions, nameof(reconstructions), count, channels, height, width);
        CheckLayout(columns, scale);
        int cols = Math.Min(columns, count), groups = (count + columns - 1) / columns;
        int cw = width * scale, ch = height * scale;
        bool labels = ch >= BitmapFont.GlyphHeight + 1;
        int margin = labels ? BitmapFont.MeasureWidth("OUT") + 4 : 0;
        const int band = 4; // dark band between groups
        int groupH = 2 * ch + 1;
        var canvas = new Canvas(margin + cols * (cw + 1) + 1, groups * (groupH + band) + band, Separator);
        for (int g = 0; g < groups; g++)
        {
            int top = band + g * (groupH + band);
            canvas.FillRect(margin, top + ch, cols * (cw + 1) + 1, 1, PairSeparator);
            if (labels)
            {
                int dy = (ch - BitmapFont.GlyphHeight) / 2;
                canvas.Text(2, top + dy, "IN", Rgb.White);
                canvas.Text(2, top + ch + 1 + dy, "OUT", Rgb.White);
            }
            for (int c = 0; c < cols && g * columns + c < count; c++)
            {
                int i = g * columns + c, x = margin + 1 + c * (cw + 1);
                canvas.Blit(Slice(originals, i, channels, height, width), x, top, scale);
                canvas.Blit(Slice(reconstructions, i, channels, height, width), x, top + ch + 1, scale);
            }
        }
        return canvas.ToImage();
    }

    /// <summary>
    /// A bar chart of how often each code was used, codes sorted by count (most used first).
    /// Dead codes (count 0) get red ticks below the axis and a legend "DEAD: N OF K"; the title
    /// line also gives the perplexity exp(−Σ p ln p) of the usage distribution.
    /// </summary>
    /// <example><code>ImageFile.WritePng("codebook-usage.png", Pictures.CodebookUsage(counts));</code></example>
    public static Image CodebookUsage(int[] counts, int width = 640, int height = 260, string title = "Codebook usage")
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(title);
        if (counts.Length == 0) throw new ArgumentException("counts must hold at least one code.", nameof(counts));
        for (int i = 0; i < counts.Length; i++)
            if (counts[i] < 0) throw new ArgumentException($"counts[{i}] is {counts[i]}; counts must be non-negative.", nameof(counts));
        if (width < 200) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 200.");
        if (height < 120) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 120.");

        int k = counts.Length;
        int[] sorted = counts.OrderByDescending(c => c).ToArray();
        int dead = counts.Count(c => c == 0);
        long total = counts.Sum(c => (long)c);
        double entropy = 0;
        foreach (int c in counts)
            if (c > 0) { double p = (double)c / total; entropy -= p * Math.Log(p); }

        var (yMax, yStep) = NiceAxis(sorted[0]);
        var inv = CultureInfo.InvariantCulture;
        int labelW = BitmapFont.MeasureWidth(yMax.ToString(inv));
        int left = labelW + 10, right = 12, top = 38, bottom = 32;
        int px0 = left, px1 = width - right, py0 = top, py1 = height - bottom;
        int plotW = px1 - px0, plotH = py1 - py0;

        var canvas = new Canvas(width, height, Rgb.White);
        string perplexity = total > 0 ? $"   PERPLEXITY {Math.Exp(entropy).ToString("0.0", inv)}" : "   NO CODES USED";
        canvas.Text(4, 4, title + perplexity, Ink);
        string legend = $"DEAD: {dead} OF {k}";
        int legendX = width - right - BitmapFont.MeasureWidth(legend);
        canvas.FillRect(legendX - 10, 5, 6, 6, Dead);
        canvas.Text(legendX, 4, legend, Dead);
        canvas.Text(2, top - 17, "COUNT", Ink);

        // Horizontal grid lines with y tick labels.
        for (long v = 0; v <= yMax; v += yStep)
        {
            int y = py1 - (int)(v * plotH / yMax);
            if (v > 0) canvas.FillRect(px0 + 1, y, plotW, 1, Grid);
            canvas.FillRect(px0 - 3, y, 3, 1, Ink);
            string s = v.ToString(inv);
            canvas.Text(px0 - 5 - BitmapFont.MeasureWidth(s), y - 3, s, Ink);
        }

        for (int i = 0; i < k; i++)
        {
            int x0 = px0 + 1 + (int)((long)i * (plotW - 1) / k), x1 = px0 + 1 + (int)((long)(i + 1) * (plotW - 1) / k);
            int w = Math.Max(1, x1 - x0 - (x1 - x0 >= 4 ? 1 : 0)); // a one-pixel gap once bars are wide enough
            if (sorted[i] > 0)
            {
                int h = Math.Max(1, (int)Math.Round((double)sorted[i] * plotH / yMax));
                canvas.FillRect(x0, py1 - h, w, h, Bar);
            }
            else canvas.FillRect(x0 + (w - 1) / 2, py1 + 2, 1, 5, Dead);
        }

        // Axes, x ticks at nice ranks, axis label.
        canvas.FillRect(px0, py0, 1, plotH + 1, Ink);
        canvas.FillRect(px0, py1, plotW, 1, Ink);
        var (_, xStep) = NiceAxis(k);
        for (long r = 0; r <= k; r += xStep)
        {
            int x = px0 + 1 + (int)(r * (plotW - 1) / k);
            canvas.FillRect(x, py1 + 1, 1, 3, Ink);
            string s = r.ToString(inv);
            canvas.Text(x - BitmapFont.MeasureWidth(s) / 2, py1 + 8, s, Ink);
        }
        string xLabel = $"CODES BY RANK, MOST USED FIRST (K = {k})";
        canvas.Text(px0 + (plotW - BitmapFont.MeasureWidth(xLabel)) / 2, height - 10, xLabel, Ink);
        return canvas.ToImage();
    }

    /// <summary>An axis maximum ≥ <paramref name="max"/> and a 1-2-5 step giving about five ticks.</summary>
    internal static (long Max, long Step) NiceAxis(long max)
    {
        if (max <= 0) return (1, 1);
        double raw = max / 5.0;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        long step = Math.Max(1, (long)(mag * (raw <= mag ? 1 : raw <= 2 * mag ? 2 : raw <= 5 * mag ? 5 : 10)));
        return ((max + step - 1) / step * step, step);
    }

    private static Image Slice(float[] images, int i, int channels, int height, int width) =>
        Image.FromChw(images, channels, height, width, offset: i * channels * height * width);

    private static void CheckImages(float[] images, string name, int count, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grey) or 3 (RGB).");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 1.");
        long need = (long)count * channels * height * width;
        if (images.Length < need)
            throw new ArgumentException($"{name} must hold count·channels·height·width = {count}·{channels}·{height}·{width} = {need} values, but has {images.Length}.", name);
    }

    private static void CheckLayout(int columns, int scale)
    {
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1.");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1.");
    }
}
