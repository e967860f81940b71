namespace VqVae.Data.Images;

// Conversions between images, planar float arrays and channel counts.
public sealed partial record Image
{
    /// <summary>
    /// An image from planar floats <c>[channels, height, width]</c> (the tensor layout) starting at
    /// <paramref name="offset"/>. Values are clamped to [0, 1] and scaled to 0..255 with rounding;
    /// a NaN is an error naming its position.
    /// </summary>
    /// <example><code>var img = Image.FromChw(batch, 1, 28, 28, offset: i * 784);</code></example>
    public static Image FromChw(float[] chw, int channels, int height, int width, int offset = 0)
    {
        ArgumentNullException.ThrowIfNull(chw);
        if (channels is not (1 or 3 or 4))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1, 3 or 4.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 1.");
        long plane = (long)height * width, need = plane * channels;
        if (offset < 0 || offset + need > chw.Length)
            throw new ArgumentException(
                $"chw must hold {channels}·{height}·{width} = {need} values from offset {offset}, but has {chw.Length}.", nameof(chw));
        var px = new byte[need];
        for (int c = 0; c < channels; c++)
            for (long p = 0; p < plane; p++)
            {
                long src = offset + c * plane + p;
                px[p * channels + c] = ToByte(chw[(int)src], src);
            }
        return new Image(width, height, channels, px);
    }

    /// <summary>A float in [0, 1] as a byte (clamped, rounded); NaN is an error naming <paramref name="index"/>.</summary>
    public static byte ToByte(float v, long index)
    {
        if (float.IsNaN(v)) throw new ArgumentException($"The value at index {index} is NaN; cannot convert it to a pixel.");
        return (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);
    }

    /// <summary>The samples as planar floats <c>[Channels, Height, Width]</c> in [0, 1] (byte / 255).</summary>
    public float[] ToChw()
    {
        int n = Width * Height, ch = Channels;
        var r = new float[n * ch];
        for (int p = 0; p < n; p++)
            for (int c = 0; c < ch; c++)
                r[c * n + p] = Pixels[p * ch + c] / 255f;
        return r;
    }

    /// <summary>
    /// This image with <paramref name="channels"/> channels: grey is replicated to RGB; RGB becomes
    /// grey by Rec. 601 luma (0.299 R + 0.587 G + 0.114 B); alpha is composited over black when
    /// dropped and set opaque when added.
    /// </summary>
    public Image WithChannels(int channels)
    {
        if (channels is not (1 or 3 or 4))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1, 3 or 4.");
        int from = Channels;
        if (from == channels) return this;
        int n = Width * Height;
        var src = Pixels;
        var dst = new byte[n * channels];
        for (int p = 0; p < n; p++)
        {
            int s = p * from;
            int r = src[s], g = from == 1 ? r : src[s + 1], b = from == 1 ? r : src[s + 2];
            int a = from == 4 ? src[s + 3] : 255;
            if (channels != 4 && a != 255) { r = (r * a + 127) / 255; g = (g * a + 127) / 255; b = (b * a + 127) / 255; }
            int d = p * channels;
            if (channels == 1)
                dst[d] = from == 1 ? (byte)r : (byte)((299 * r + 587 * g + 114 * b + 500) / 1000);
            else
            {
                dst[d] = (byte)r; dst[d + 1] = (byte)g; dst[d + 2] = (byte)b;
                if (channels == 4) dst[d + 3] = (byte)a;
            }
        }
        return new Image(Width, Height, channels, dst);
    }
}
