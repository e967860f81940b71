namespace VqVae.Data.Images;

/// <summary>
/// A mutable RGB drawing surface for building pictures (like a StringBuilder for images):
/// draw with <see cref="FillRect"/>, <see cref="Line"/>, <see cref="Text"/> and <see cref="Blit"/>,
/// then take an immutable <see cref="Image"/> with <see cref="ToImage"/>. Drawing outside the
/// canvas is clipped, never an error.
/// </summary>
/// <example><code>
/// var c = new Canvas(100, 20, Rgb.White);
/// c.Text(2, 2, "LOSS 0.25", Rgb.Black, scale: 2);
/// ImageFile.WritePng("label.png", c.ToImage());
/// </code></example>
public sealed class Canvas
{
    private readonly byte[] _px;

    /// <summary>A canvas filled with <paramref name="background"/>.</summary>
    public Canvas(int width, int height, Rgb background)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 1.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 1.");
        if ((long)width * height * 3 > Array.MaxLength) throw new ArgumentException($"A {width}×{height} canvas is too large.");
        Width = width;
        Height = height;
        _px = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Sets one pixel (ignored outside the canvas).</summary>
    public void Set(int x, int y, Rgb c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        _px[i] = c.R; _px[i + 1] = c.G; _px[i + 2] = c.B;
    }

    /// <summary>The colour at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public Rgb Get(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"({x}, {y}) is outside the {Width}×{Height} canvas.");
        int i = (y * Width + x) * 3;
        return new Rgb(_px[i], _px[i + 1], _px[i + 2]);
    }

    /// <summary>Fills the rectangle with top-left (<paramref name="x"/>, <paramref name="y"/>), clipped to the canvas.</summary>
    public void FillRect(int x, int y, int width, int height, Rgb c)
    {
        int x0 = Math.Max(x, 0), y0 = Math.Max(y, 0);
        int x1 = (int)Math.Min((long)x + width, Width), y1 = (int)Math.Min((long)y + height, Height);
        for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++) Set(xx, yy, c);
    }

    /// <summary>A one-pixel line from (x0, y0) to (x1, y1), both ends included (Bresenham).</summary>
    public void Line(int x0, int y0, int x1, int y1, Rgb c)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(x0, y0, c);
            if (x0 == x1 && y0 == y1) return;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>
    /// Draws <paramref name="text"/> in the 5×7 <see cref="BitmapFont"/> with its top-left at
    /// (<paramref name="x"/>, <paramref name="y"/>), each font pixel a <paramref name="scale"/>² square.
    /// Returns the x just past the text.
    /// </summary>
    public int Text(int x, int y, string text, Rgb c, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1.");
        foreach (char ch in text)
        {
            for (int gy = 0; gy < BitmapFont.GlyphHeight; gy++)
                for (int gx = 0; gx < BitmapFont.GlyphWidth; gx++)
                    if (BitmapFont.Ink(ch, gx, gy)) FillRect(x + gx * scale, y + gy * scale, scale, scale, c);
            x += BitmapFont.Advance * scale;
        }
        return x;
    }

    /// <summary>Copies <paramref name="image"/> (grey replicated; alpha composited over black)
    /// with its top-left at (x, y), each pixel enlarged to a <paramref name="scale"/>² square.</summary>
    public void Blit(Image image, int x, int y, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1.");
        var rgb = image.WithChannels(3);
        for (int iy = 0; iy < rgb.Height; iy++)
            for (int ix = 0; ix < rgb.Width; ix++)
            {
                int i = (iy * rgb.Width + ix) * 3;
                FillRect(x + ix * scale, y + iy * scale, scale, scale, new Rgb(rgb.Pixels[i], rgb.Pixels[i + 1], rgb.Pixels[i + 2]));
            }
    }

    /// <summary>An immutable RGB snapshot of the canvas.</summary>
    public Image ToImage() => new(Width, Height, 3, (byte[])_px.Clone());
}
