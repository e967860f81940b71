using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VqVae.Data.Images;

/// <summary>The PNG reader behind <see cref="Png.Decode"/>: chunks, then inflate, unfilter and expand.</summary>
internal static class PngDecoder
{
    private sealed record Header(int Width, int Height, int BitDepth, int ColorType)
    {
        public int Samples => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        public int BitsPerPixel => Samples * BitDepth;
        public long Stride => ((long)Width * BitsPerPixel + 7) / 8;
    }

    public static Image Decode(byte[] png, string source)
    {
        PngFormatException Bad(string problem, Exception? inner = null) => new(source, problem, inner);

        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(Png.Signature))
            throw Bad(png.Length < 8 ? $"truncated: {png.Length} bytes, shorter than the PNG signature." : "not a PNG file (the 8-byte signature does not match).");

        Header? hdr = null;
        byte[]? palette = null, trns = null;
        using var idat = new MemoryStream();
        bool ended = false;
        int pos = 8;
        while (!ended)
        {
            if (png.Length - pos < 12)
                throw Bad($"truncated at byte {pos}: {(hdr is null ? "no IHDR chunk" : "the IEND chunk is missing")}.");
            uint len = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            var typeBytes = png.AsSpan(pos + 4, 4);
            string type = Encoding.ASCII.GetString(typeBytes);
            foreach (byte b in typeBytes)
                if (!char.IsAsciiLetter((char)b)) throw Bad($"corrupt chunk type at byte {pos + 4}.");
            if (len > int.MaxValue || len > png.Length - pos - 12)
                throw Bad($"truncated: chunk {type} at byte {pos} declares {len} bytes but only {png.Length - pos - 12} remain.");
            var data = png.AsSpan(pos + 8, (int)len);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + (int)len));
            uint actual = Crc32.Compute(typeBytes, data);
            if (stored != actual) throw Bad($"CRC mismatch in chunk {type} at byte {pos} (stored 0x{stored:X8}, computed 0x{actual:X8}).");
            pos += 12 + (int)len;

            if (hdr is null && type != "IHDR") throw Bad($"the first chunk is {type}, not IHDR.");
            switch (type)
            {
                case "IHDR":
                    if (hdr is not null) throw Bad("more than one IHDR chunk.");
                    hdr = ParseHeader(data, Bad);
                    break;
                case "PLTE":
                    if (len % 3 != 0 || len == 0 || len > 768) throw Bad($"PLTE has {len} bytes; expected 3·n with 1 ≤ n ≤ 256.");
                    palette = data.ToArray();
                    break;
                case "tRNS":
                    trns = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    ended = true;
                    break;
                default:
                    // Bit 5 of the first byte clear = critical: we must not ignore what we do not understand.
                    if ((typeBytes[0] & 0x20) == 0) throw Bad($"unknown critical chunk {type}.");
                    break;
            }
        }

        var h = hdr!;
        if (h.ColorType == 3 && palette is null) throw Bad("a palette image without a PLTE chunk.");
        if (idat.Length == 0) throw Bad("no IDAT chunk (no image data).");
        CheckTransparency(h, palette, trns, Bad);

        long rowBytes = h.Stride + 1;
        long total = rowBytes * h.Height;
        int outChannels = OutputChannels(h, trns);
        if (total > Array.MaxLength || (long)h.Width * h.Height * outChannels > Array.MaxLength)
            throw Bad($"{h.Width}×{h.Height} is too large to decode into one array.");

        var raw = new byte[total];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int got = z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
            if (got < raw.Length)
                throw Bad($"truncated image data: {got} of {raw.Length} bytes after inflating.");
            if (z.ReadByte() >= 0) throw Bad($"more image data than the {h.Width}×{h.Height} header allows.");
        }
        catch (InvalidDataException e) { throw Bad($"corrupt zlib image data: {e.Message}", e); }

        Unfilter(raw, h, Bad);
        return Expand(raw, h, palette, trns, outChannels, Bad);
    }

    private static Header ParseHeader(ReadOnlySpan<byte> d, Func<string, Exception?, PngFormatException> bad)
    {
        PngFormatException Bad(string p) => bad(p, null);
        if (d.Length != 13) throw Bad($"IHDR has {d.Length} bytes, not 13.");
        uint w = BinaryPrimitives.ReadUInt32BigEndian(d), h = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
        if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue) throw Bad($"invalid size {w}×{h}.");
        int depth = d[8], type = d[9];
        bool ok = type switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => throw Bad($"unknown colour type {type}."),
        };
        if (!ok) throw Bad($"bit depth {depth} is not allowed for colour type {type}.");
        if (d[10] != 0) throw Bad($"unknown compression method {d[10]}.");
        if (d[11] != 0) throw Bad($"unknown filter method {d[11]}.");
        if (d[12] == 1) throw Bad("interlaced (Adam7) PNGs are not supported; save it non-interlaced.");
        if (d[12] != 0) throw Bad($"unknown interlace method {d[12]}.");
        return new Header((int)w, (int)h, depth, type);
    }

    private static void CheckTransparency(Header h, byte[]? palette, byte[]? trns, Func<string, Exception?, PngFormatException> bad)
    {
        if (trns is null) return;
        int expected = h.ColorType switch { 0 => 2, 2 => 6, 3 => -1, _ => 0 };
        if (expected == 0) throw bad($"a tRNS chunk is not allowed for colour type {h.ColorType}.", null);
        if (expected == -1 && trns.Length > palette!.Length / 3)
            throw bad($"tRNS has {trns.Length} entries but the palette only {palette.Length / 3}.", null);
        if (expected > 0 && trns.Length != expected)
            throw bad($"tRNS has {trns.Length} bytes; colour type {h.ColorType} needs {expected}.", null);
    }

    private static int OutputChannels(Header h, byte[]? trns) => h.ColorType switch
    {
        0 => trns is null ? 1 : 4,
        2 or 3 => trns is null ? 3 : 4,
        _ => 4, // grey+alpha is expanded to RGBA
    };

    private static void Unfilter(byte[] raw, Header h, Func<string, Exception?, PngFormatException> bad)
    {
        int stride = (int)h.Stride, bpp = Math.Max(1, h.BitsPerPixel / 8);
        var zeros = new byte[stride];
        for (int y = 0; y < h.Height; y++)
        {
            int at = y * (stride + 1);
            byte type = raw[at];
            if (type > PngFilters.Paeth) throw bad($"unknown filter type {type} on row {y}.", null);
            ReadOnlySpan<byte> prior = y == 0 ? zeros : raw.AsSpan(at - stride, stride);
            PngFilters.Undo(type, raw.AsSpan(at + 1, stride), prior, bpp);
        }
    }

    private static Image Expand(byte[] raw, Header h, byte[]? palette, byte[]? trns, int outCh, Func<string, Exception?, PngFormatException> bad)
    {
        int w = h.Width, depth = h.BitDepth, samples = h.Samples, stride = (int)h.Stride;
        int max = (1 << depth) - 1;
        var px = new byte[(long)w * h.Height * outCh];
        // Colour key (tRNS for grey/RGB) compared at the file's own bit depth.
        int k0 = -1, k1 = -1, k2 = -1;
        if (trns is not null && h.ColorType == 0) k0 = BinaryPrimitives.ReadUInt16BigEndian(trns);
        if (trns is not null && h.ColorType == 2)
        {
            k0 = BinaryPrimitives.ReadUInt16BigEndian(trns);
            k1 = BinaryPrimitives.ReadUInt16BigEndian(trns.AsSpan(2));
            k2 = BinaryPrimitives.ReadUInt16BigEndian(trns.AsSpan(4));
        }
        Span<int> s = stackalloc int[4];
        for (int y = 0; y < h.Height; y++)
        {
            var row = raw.AsSpan(y * (stride + 1) + 1, stride);
            for (int x = 0; x < w; x++)
            {
                for (int c = 0; c < samples; c++) s[c] = Sample(row, x * samples + c, depth);
                int o = (y * w + x) * outCh;
                switch (h.ColorType)
                {
                    case 3:
                        int idx = s[0];
                        if (idx * 3 >= palette!.Length) throw bad($"palette index {idx} at ({x}, {y}) is beyond the {palette.Length / 3}-entry palette.", null);
                        px[o] = palette[3 * idx]; px[o + 1] = palette[3 * idx + 1]; px[o + 2] = palette[3 * idx + 2];
                        if (outCh == 4) px[o + 3] = idx < trns!.Length ? trns[idx] : (byte)255;
                        break;
                    case 0:
                        byte g = Scale(s[0], depth, max);
                        px[o] = g;
                        if (outCh == 4) { px[o + 1] = g; px[o + 2] = g; px[o + 3] = s[0] == k0 ? (byte)0 : (byte)255; }
                        break;
                    case 2:
                        for (int c = 0; c < 3; c++) px[o + c] = Scale(s[c], depth, max);
                        if (outCh == 4) px[o + 3] = s[0] == k0 && s[1] == k1 && s[2] == k2 ? (byte)0 : (byte)255;
                        break;
                    case 4:
                        byte gg = Scale(s[0], depth, max);
                        px[o] = gg; px[o + 1] = gg; px[o + 2] = gg; px[o + 3] = Scale(s[1], depth, max);
                        break;
                    default:
                        for (int c = 0; c < 4; c++) px[o + c] = Scale(s[c], depth, max);
                        break;
                }
            }
        }
        return new Image(w, h.Height, outCh, px);
    }

    /// <summary>The i-th sample of a row, packed most-significant bits first.</summary>
    private static int Sample(ReadOnlySpan<byte> row, int i, int depth) => depth switch
    {
        8 => row[i],
        16 => (row[2 * i] << 8) | row[2 * i + 1],
        _ => (row[i * depth / 8] >> (8 - depth - i * depth % 8)) & ((1 << depth) - 1),
    };

    /// <summary>A sample of the given depth scaled to 0..255, rounding to nearest.</summary>
    private static byte Scale(int v, int depth, int max) => depth == 8 ? (byte)v : (byte)((v * 255 + max / 2) / max);
}
