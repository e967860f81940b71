namespace VqVae.Data.Images;

/// <summary>
/// The five PNG scanline filters (spec §9): each byte is predicted from its left (a), upper (b) and
/// upper-left (c) neighbours one pixel (bpp bytes, at least 1) away, and the prediction is subtracted.
/// </summary>
internal static class PngFilters
{
    public const byte None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;

    /// <summary>Whichever of a, b, c is closest to a + b − c (ties: a, then b).</summary>
    public static int PaethPredictor(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static int Predict(byte type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int i, int bpp)
    {
        int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
        return type switch
        {
            Sub => a,
            Up => b,
            Average => (a + b) >> 1,
            Paeth => PaethPredictor(a, b, c),
            _ => 0,
        };
    }

    /// <summary>Filters <paramref name="raw"/> into <paramref name="output"/>; <paramref name="prior"/> is the previous raw row (zeros for the first).</summary>
    public static void Apply(byte type, ReadOnlySpan<byte> raw, ReadOnlySpan<byte> prior, Span<byte> output, int bpp)
    {
        for (int i = 0; i < raw.Length; i++) output[i] = (byte)(raw[i] - Predict(type, raw, prior, i, bpp));
    }

    /// <summary>Undoes a filter in place: <paramref name="row"/> holds filtered bytes on entry and raw bytes on exit.</summary>
    public static void Undo(byte type, Span<byte> row, ReadOnlySpan<byte> prior, int bpp)
    {
        // Left to right, so Predict sees already-reconstructed left neighbours.
        for (int i = 0; i < row.Length; i++) row[i] = (byte)(row[i] + Predict(type, row, prior, i, bpp));
    }
}
