using VqVae.Tensors;

namespace VqVae.Data.Datasets;

/// <summary>
/// The built-in dataset: 28×28 grey images of the ten digits drawn as anti-aliased pen strokes
/// (white ink on black, values in [0, 1], like MNIST), each with its own stroke thickness, size,
/// aspect, slant, rotation, offset and a gentle wobble of the strokes.
/// Image i has label i mod 10 and depends only on the key and i — never on how many images are
/// generated — so any ten consecutive images hold all ten digits.
/// </summary>
/// <example><code>
/// var data = SyntheticDigits.Generate(60_000, Rng.Seed(0));
/// ImageFile.WritePng("digits.png", Pictures.Atlas(data.Images, 40, 1, 28, 28, columns: 10, scale: 2));
/// </code></example>
public static class SyntheticDigits
{
    /// <summary>Image side in pixels.</summary>
    public const int Size = 28;

    /// <summary><paramref name="count"/> images and labels; deterministic for <paramref name="rng"/>.</summary>
    public static Dataset Generate(int count, Rng rng)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be non-negative.");
        const int n = Size * Size;
        var images = new float[(long)count * n];
        var labels = new int[count];
        // Each image writes only its own slice from its own key, so the result is the same on any thread count.
        Parallel.For(0, count, i =>
        {
            labels[i] = i % 10;
            Render(labels[i], rng.Fold(i), images.AsSpan(i * n, n));
        });
        return new Dataset(images, labels, count, 1, Size, Size);
    }

    /// <summary>One 28×28 image of <paramref name="digit"/> drawn with the random style of <paramref name="key"/>.</summary>
    public static float[] RenderDigit(int digit, Rng key)
    {
        if ((uint)digit > 9) throw new ArgumentOutOfRangeException(nameof(digit), digit, "digit must be in 0..9.");
        var img = new float[Size * Size];
        Render(digit, key, img);
        return img;
    }

    private static void Render(int digit, Rng key, Span<float> img)
    {
        float U(int j, float lo, float hi) => lo + (hi - lo) * key.UniformAt(j);
        float height = U(0, 16.5f, 20.5f);      // glyph height in pixels (MNIST fits digits in 20×20)
        float aspect = U(1, 0.62f, 0.85f);      // width / height
        float slant = U(2, -0.1f, 0.3f);        // shear: top leans right for positive slant
        float angle = U(3, -0.17f, 0.17f);      // rotation, radians (about ±10°)
        float dx = U(4, -1.5f, 1.5f), dy = U(5, -1.5f, 1.5f);
        float halfWidth = U(6, 0.75f, 1.6f);    // half the pen width, pixels
        // A smooth wobble: the strokes are displaced by slow sine waves of random phase.
        float wobX = U(7, 0f, 0.035f), wobY = U(8, 0f, 0.035f), ph1 = U(9, 0f, 6.283f), ph2 = U(10, 0f, 6.283f);
        float cos = MathF.Cos(angle), sin = MathF.Sin(angle);

        (float X, float Y) ToPixels((float X, float Y) p)
        {
            float u = p.X + wobX * MathF.Sin(3.1f * p.Y + ph1), v = p.Y + wobY * MathF.Sin(2.7f * p.X + ph2);
            float x = (u - 0.5f) * aspect * height, y = (v - 0.5f) * height;
            x -= slant * y;
            return (cos * x - sin * y, sin * x + cos * y);
        }

        var strokes = DigitStrokes.All[digit].Select(st => st.Select(ToPixels).ToArray()).ToArray();

        // Like MNIST, centre the ink's centre of mass (here: of the stroke length), then jitter,
        // but never push the glyph out of the frame.
        float mass = 0, mx = 0, my = 0, minX = float.MaxValue, maxX = float.MinValue, minY = float.MaxValue, maxY = float.MinValue;
        foreach (var st in strokes)
        {
            for (int s = 0; s < st.Length; s++)
            {
                minX = MathF.Min(minX, st[s].X); maxX = MathF.Max(maxX, st[s].X);
                minY = MathF.Min(minY, st[s].Y); maxY = MathF.Max(maxY, st[s].Y);
                if (s == 0) continue;
                float len = MathF.Sqrt(MathF.Pow(st[s].X - st[s - 1].X, 2) + MathF.Pow(st[s].Y - st[s - 1].Y, 2));
                mass += len; mx += len * (st[s].X + st[s - 1].X) / 2; my += len * (st[s].Y + st[s - 1].Y) / 2;
            }
        }
        float margin = halfWidth + 0.5f;
        float ox = Fit(Size / 2f + dx - mx / mass, minX - margin, maxX + margin);
        float oy = Fit(Size / 2f + dy - my / mass, minY - margin, maxY + margin);

        foreach (var st in strokes)
            for (int s = 1; s < st.Length; s++)
                DrawSegment(img, st[s - 1].X + ox, st[s - 1].Y + oy, st[s].X + ox, st[s].Y + oy, halfWidth);
    }

    /// <summary>The offset nearest <paramref name="want"/> that keeps [lo, hi] + offset inside the image.</summary>
    private static float Fit(float want, float lo, float hi) =>
        hi - lo >= Size ? (Size - lo - hi) / 2 : Math.Clamp(want, -lo, Size - hi);

    /// <summary>Ink coverage of a round-capped segment: full within the pen's half width of the
    /// centre line, fading linearly to zero over one pixel (the anti-aliasing).</summary>
    private static void DrawSegment(Span<float> img, float ax, float ay, float bx, float by, float halfWidth)
    {
        float reach = halfWidth + 0.5f;
        int x0 = Math.Max(0, (int)MathF.Floor(MathF.Min(ax, bx) - reach)), x1 = Math.Min(Size - 1, (int)MathF.Ceiling(MathF.Max(ax, bx) + reach));
        int y0 = Math.Max(0, (int)MathF.Floor(MathF.Min(ay, by) - reach)), y1 = Math.Min(Size - 1, (int)MathF.Ceiling(MathF.Max(ay, by) + reach));
        float ex = bx - ax, ey = by - ay, len2 = ex * ex + ey * ey;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float px = x + 0.5f - ax, py = y + 0.5f - ay;   // pixel centre relative to a
                float t = len2 > 0 ? Math.Clamp((px * ex + py * ey) / len2, 0f, 1f) : 0f;
                float qx = px - t * ex, qy = py - t * ey;
                float d2 = qx * qx + qy * qy;
                if (d2 >= reach * reach) continue;
                float cover = MathF.Min(reach - MathF.Sqrt(d2), 1f);
                ref float dst = ref img[y * Size + x];
                if (cover > dst) dst = cover; // strokes overlap by max, not sum: crossings stay ≤ 1
            }
    }
}
