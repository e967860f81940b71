using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using VqVae.Tensors.IO;

namespace VqVae.Data.Images;

/// <summary>
/// Reads and writes PNG files with the framework's zlib (no image library).
/// Writing: 8-bit grey, RGB or RGBA, non-interlaced, each row with the filter whose output has
/// the smallest sum of absolute (signed) bytes.
/// Reading: every non-interlaced colour type and bit depth — grey (1/2/4/8/16 bits), RGB,
/// palette (1/2/4/8 bits), grey+alpha and RGBA — converted to 8 bits per sample:
/// grey → 1 channel, RGB and palette → 3, grey+alpha and RGBA → 4 (grey replicated to RGB).
/// A tRNS chunk (palette alpha or a colour key) adds an alpha channel, giving 4.
/// 16-bit samples are rounded to 8 bits; sub-byte grey is scaled to 0..255. CRCs and the
/// signature are checked; interlaced or corrupt files raise <see cref="PngFormatException"/>.
/// </summary>
/// <example><code>
/// Png.Write("grid.png", Pictures.Atlas(images, 16, 1, 28, 28, columns: 4));
/// Image back = Png.Read("grid.png");
/// </code></example>
public static class Png
{
    internal static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG bytes of <paramref name="image"/>.</summary>
    public static byte[] Encode(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int bpp = image.Channels, stride = image.Width * bpp;
        byte colorType = image.Channels switch { 1 => 0, 3 => 2, _ => 6 };

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
        {
            var prior = new byte[stride];
            var best = new byte[stride + 1];
            var trial = new byte[stride];
            for (int y = 0; y < image.Height; y++)
            {
                var raw = image.Pixels.AsSpan(y * stride, stride);
                long bestScore = long.MaxValue;
                for (byte f = PngFilters.None; f <= PngFilters.Paeth; f++)
                {
                    PngFilters.Apply(f, raw, prior, trial, bpp);
                    long score = 0;
                    foreach (byte b in trial) score += Math.Abs((int)(sbyte)b); // the spec's recommended heuristic
                    if (score < bestScore) { bestScore = score; best[0] = f; trial.CopyTo(best, 1); }
                }
                z.Write(best);
                raw.CopyTo(prior);
            }
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // depth, type, deflate, adaptive, no interlace
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        s.Write(typeBytes);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute(typeBytes, data));
        s.Write(word);
    }

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Write(string path, Image image)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Encode(image);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Decodes PNG bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <exception cref="PngFormatException">Not a PNG, corrupt, truncated, or interlaced.</exception>
    public static Image Decode(byte[] bytes, string source = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return PngDecoder.Decode(bytes, source);
    }

    /// <summary>Reads the PNG file at <paramref name="path"/>.</summary>
    /// <exception cref="PngFormatException">Missing, not a PNG, corrupt, truncated, or interlaced.</exception>
    public static Image Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new PngFormatException(path, "the file does not exist.", e); }
        catch (DirectoryNotFoundException e) { throw new PngFormatException(path, "the folder does not exist.", e); }
        return PngDecoder.Decode(bytes, path);
    }
}
