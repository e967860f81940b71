namespace VqVae.Data.Images;

/// <summary>
/// An immutable 8-bit image: <see cref="Channels"/> is 1 (grey), 3 (RGB) or 4 (RGBA), pixels are
/// row-major and interleaved (<c>Pixels[(y * Width + x) * Channels + c]</c>). The array is not
/// copied; treat it as read-only.
/// </summary>
/// <example><code>
/// var img = Image.FromChw(x, channels: 1, height: 28, width: 28); // floats in [0, 1]
/// ImageFile.WritePng("digit.png", img);
/// </code></example>
public sealed partial record Image(int Width, int Height, int Channels, byte[] Pixels)
{
    /// <summary>Width in pixels (≥ 1).</summary>
    public int Width { get; init; } = Width >= 1 ? Width : throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be at least 1.");

    /// <summary>Height in pixels (≥ 1).</summary>
    public int Height { get; init; } = Height >= 1 ? Height : throw new ArgumentOutOfRangeException(nameof(Height), Height, "Height must be at least 1.");

    /// <summary>1 (grey), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels { get; init; } = Channels is 1 or 3 or 4
        ? Channels
        : throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "Channels must be 1 (grey), 3 (RGB) or 4 (RGBA).");

    /// <summary>Row-major interleaved samples, <c>Width·Height·Channels</c> bytes.</summary>
    public byte[] Pixels { get; init; } = CheckPixels(Width, Height, Channels, Pixels);

    /// <summary>The sample of channel <paramref name="c"/> at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public byte this[int x, int y, int c] => Pixels[((long)y * Width + x) * Channels + c];

    /// <summary>A black (and, for RGBA, opaque) image.</summary>
    public static Image Blank(int width, int height, int channels)
    {
        long n = (long)Math.Max(width, 0) * Math.Max(height, 0) * channels;
        var px = new byte[Math.Min(n, Array.MaxLength)];
        if (channels == 4) for (int i = 3; i < px.Length; i += 4) px[i] = 255;
        return new Image(width, height, channels, px);
    }

    private static byte[] CheckPixels(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels, nameof(Pixels));
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException(
                $"Pixels must hold Width·Height·Channels = {width}·{height}·{channels} = {expected} bytes, not {pixels.Length}.", nameof(Pixels));
        return pixels;
    }
}
