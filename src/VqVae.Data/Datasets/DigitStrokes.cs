namespace VqVae.Data.Datasets;

/// <summary>
/// The ten digits as pen strokes (polylines) in a unit box: x to the right, y downwards, the
/// glyph filling [0, 1]² before it is squeezed to a digit's narrower aspect. Arcs and curves are
/// flattened into short segments here once.
/// </summary>
internal static class DigitStrokes
{
    public static readonly (float X, float Y)[][][] All =
    [
        // 0: an oval
        [Arc(0.5f, 0.5f, 0.42f, 0.48f, -90, 270)],
        // 1: a flag and a stem
        [[(0.28f, 0.22f), (0.55f, 0.02f), (0.55f, 0.98f)]],
        // 2: a hook over the top, a diagonal, a base
        [[.. Arc(0.5f, 0.3f, 0.4f, 0.28f, 190, 395), (0.06f, 0.97f), (0.96f, 0.97f)]],
        // 3: two bowls opening left
        [Arc(0.48f, 0.27f, 0.38f, 0.25f, 205, 450), Arc(0.46f, 0.73f, 0.44f, 0.25f, -90, 160)],
        // 4: a diagonal into a crossbar, and the stem
        [[(0.62f, 0.02f), (0.04f, 0.68f), (0.98f, 0.68f)], [(0.72f, 0.3f), (0.72f, 0.98f)]],
        // 5: top bar, short down stroke, a bowl
        [[(0.88f, 0.03f), (0.22f, 0.03f), (0.17f, 0.46f)], Arc(0.48f, 0.68f, 0.4f, 0.3f, 223, 510)],
        // 6: a sweep down the left side into a closed loop
        [Quad((0.8f, 0.05f), (0.16f, 0.12f), (0.1f, 0.7f)), Arc(0.5f, 0.71f, 0.4f, 0.27f, 180, 540)],
        // 7: top bar and a long diagonal
        [[(0.04f, 0.03f), (0.96f, 0.03f), (0.38f, 0.98f)]],
        // 8: two stacked loops
        [Arc(0.5f, 0.26f, 0.32f, 0.24f, 90, 450), Arc(0.5f, 0.74f, 0.4f, 0.25f, -90, 270)],
        // 9: a loop and a tail down from its right side
        [Arc(0.5f, 0.3f, 0.4f, 0.28f, 0, 360), Quad((0.9f, 0.3f), (0.88f, 0.75f), (0.62f, 0.98f))],
    ];

    /// <summary>Points on an ellipse from angle <paramref name="fromDeg"/> to <paramref name="toDeg"/>
    /// (0° = right, 90° = down, since y points down).</summary>
    private static (float, float)[] Arc(float cx, float cy, float rx, float ry, float fromDeg, float toDeg)
    {
        int n = Math.Max(4, (int)MathF.Ceiling(MathF.Abs(toDeg - fromDeg) / 15f));
        var pts = new (float, float)[n + 1];
        for (int i = 0; i <= n; i++)
        {
            float t = (fromDeg + (toDeg - fromDeg) * i / n) * MathF.PI / 180f;
            pts[i] = (cx + rx * MathF.Cos(t), cy + ry * MathF.Sin(t));
        }
        return pts;
    }

    /// <summary>A quadratic Bézier curve from <paramref name="a"/> to <paramref name="c"/> pulled towards <paramref name="b"/>.</summary>
    private static (float, float)[] Quad((float X, float Y) a, (float X, float Y) b, (float X, float Y) c)
    {
        const int n = 12;
        var pts = new (float, float)[n + 1];
        for (int i = 0; i <= n; i++)
        {
            float t = (float)i / n, u = 1 - t;
            pts[i] = (u * u * a.X + 2 * u * t * b.X + t * t * c.X, u * u * a.Y + 2 * u * t * b.Y + t * t * c.Y);
        }
        return pts;
    }
}
