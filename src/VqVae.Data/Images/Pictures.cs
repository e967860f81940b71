
namespace VqVae.Data.Images;

/// <summary>
/// Pictures for looking at a training run: image atlases and original/reconstruction grids (charts
/// are in VqVae.Data.Charts, drawn by ScottPlot). Images come as planar floats <c>[count, channels, height, width]</c>
/// in [0, 1] (values clamped; NaN is an error); channels is 1 (grey) or 3 (RGB). Results are RGB.
/// </summary>
public static class Pictures
{
    private static readonly Rgb Separator = new(70, 80, 110);
    private static readonly Rgb PairSeparator = new(150, 155, 170);

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
