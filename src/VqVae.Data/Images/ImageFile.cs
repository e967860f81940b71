using System.Runtime.InteropServices;
using SkiaSharp;
using VqVae.Tensors.IO;

namespace VqVae.Data.Images;

/// <summary>
/// Reads PNG, JPEG, WebP and BMP files and writes PNG, through SkiaSharp (Skia's codecs).
/// A file decodes to 1 channel when it is grey without alpha, 3 when it is colour without alpha,
/// 4 when it has alpha (unpremultiplied, as stored). Values are the stored 8-bit samples; no colour
/// management is applied. The header is read first and its declared size checked against a pixel
/// limit (<see cref="DefaultMaxPixels"/>, raise it with the <c>maxPixels</c> argument) before any
/// pixel memory is allocated, so a tiny file that declares a huge image is refused cheaply.
/// Every failure is an <see cref="ImageFormatException"/> naming the file.
/// </summary>
/// <example><code>
/// ImageFile.WritePng("grid.png", Pictures.Atlas(images, 16, 1, 28, 28, columns: 4));
/// Image back = ImageFile.Read("grid.png");
/// Image photo = ImageFile.Read("big.jpg", maxPixels: 100_000_000);
/// </code></example>
public static class ImageFile
{
    /// <summary>The default limit on width·height: 2²⁵ (about 33.5 million pixels, 128 MiB as RGBA).</summary>
    public const long DefaultMaxPixels = 1L << 25;

    /// <summary>The file name extensions read by image folders (lower case, with the dot).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp"];

    /// <summary>Reads the image file at <paramref name="path"/>.</summary>
    /// <exception cref="ImageFormatException">Missing, unreadable, not a supported format, truncated, corrupt, or above <paramref name="maxPixels"/>.</exception>
    public static Image Read(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Decode(ReadBytes(path), path, maxPixels);
    }

    /// <summary>What the header of the file at <paramref name="path"/> declares, without decoding pixels.</summary>
    /// <exception cref="ImageFormatException">Missing, unreadable, not a supported format, or above <paramref name="maxPixels"/>.</exception>
    public static ImageInfo ReadInfo(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return DecodeInfo(ReadBytes(path), path, maxPixels);
    }

    /// <summary>What the header in <paramref name="bytes"/> declares, without decoding pixels.</summary>
    /// <exception cref="ImageFormatException">Not a supported format, the header is damaged, or above <paramref name="maxPixels"/>.</exception>
    public static ImageInfo DecodeInfo(byte[] bytes, string source = "<bytes>", long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(source);
        if (maxPixels < 1) throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "maxPixels must be at least 1.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = Open(data, source);
        return CheckedInfo(codec, source, maxPixels);
    }

    /// <summary>Decodes image bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <exception cref="ImageFormatException">Not a supported format, truncated, corrupt, or above <paramref name="maxPixels"/>.</exception>
    public static Image Decode(byte[] bytes, string source = "<bytes>", long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(source);
        if (maxPixels < 1) throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "maxPixels must be at least 1.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = Open(data, source);
        var info = CheckedInfo(codec, source, maxPixels);
        long pixels = (long)info.Width * info.Height;

        // Decode into grey or unpremultiplied RGBA, with no colour space: Skia then converts no colours.
        bool grey = info.Channels == 1;
        var target = new SKImageInfo(info.Width, info.Height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888,
            info.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        var decoded = new byte[pixels * (grey ? 1 : 4)];
        var handle = GCHandle.Alloc(decoded, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(target, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        if (result != SKCodecResult.Success)
            throw new ImageFormatException(source, result switch
            {
                SKCodecResult.IncompleteInput => "truncated: the image data ends before the last row.",
                SKCodecResult.ErrorInInput => "corrupt image data.",
                _ => $"the {info.Format} data cannot be decoded ({result}).",
            });
        return new Image(info.Width, info.Height, info.Channels, info.Channels == 3 ? DropAlpha(decoded) : decoded);
    }

    /// <summary>The PNG bytes of <paramref name="image"/> (8-bit grey, RGB or RGBA as the image has).</summary>
    public static byte[] EncodePng(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        // Skia has no packed 3-byte RGB: RGB goes in as opaque RGBA, which its PNG encoder writes as RGB.
        byte[] px = image.Channels == 3 ? AddAlpha(image.Pixels) : image.Pixels;
        var info = new SKImageInfo(image.Width, image.Height, image.Channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888,
            image.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        var handle = GCHandle.Alloc(px, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var encoded = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, zLibLevel: 9))
                ?? throw new InvalidOperationException($"Skia could not encode a {image.Width}×{image.Height}×{image.Channels} image as PNG.");
            return encoded.ToArray();
        }
        finally { handle.Free(); }
    }

    /// <summary>Writes <paramref name="image"/> as PNG to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void WritePng(string path, Image image)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = EncodePng(image);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The file's bytes; a missing or unreadable file is an <see cref="ImageFormatException"/> naming it.</summary>
    internal static byte[] ReadBytes(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new ImageFormatException(path, "the file does not exist.", e); }
        catch (DirectoryNotFoundException e) { throw new ImageFormatException(path, "the folder does not exist.", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageFormatException(path, $"cannot read the file: {e.Message}", e); }
    }

    private static SKCodec Open(SKData data, string source)
    {
        if (data.Size == 0) throw new ImageFormatException(source, "the file is empty.");
        var codec = SKCodec.Create(new SKMemoryStream(data), out var result);
        if (codec is null)
            throw new ImageFormatException(source, result == SKCodecResult.IncompleteInput
                ? "not a complete PNG, JPEG, WebP or BMP header (the file is truncated, or not an image)."
                : "not a PNG, JPEG, WebP or BMP file (unknown or damaged header).");
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp or SKEncodedImageFormat.Bmp))
        {
            var format = codec.EncodedFormat;
            codec.Dispose();
            throw new ImageFormatException(source, $"a {format} file; expected PNG, JPEG, WebP or BMP.");
        }
        return codec;
    }

    // The size check that comes before any pixel memory is allocated.
    private static ImageInfo CheckedInfo(SKCodec codec, string source, long maxPixels)
    {
        var info = InfoOf(codec);
        long pixels = (long)info.Width * info.Height;
        if (pixels > maxPixels)
            throw new ImageFormatException(source,
                $"the header declares {info.Width}×{info.Height} = {pixels} pixels, above the limit of {maxPixels} (pass a larger maxPixels to read it).");
        if (pixels * 4 > Array.MaxLength)
            throw new ImageFormatException(source, $"the header declares {info.Width}×{info.Height} pixels, too many for one array.");
        return info;
    }

    private static ImageInfo InfoOf(SKCodec codec)
    {
        var i = codec.Info;
        int channels = i.AlphaType != SKAlphaType.Opaque ? 4 : i.ColorType == SKColorType.Gray8 ? 1 : 3;
        return new ImageInfo(i.Width, i.Height, channels, codec.EncodedFormat.ToString().ToLowerInvariant());
    }

    private static byte[] DropAlpha(byte[] rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int p = 0, q = 0; p < rgba.Length; p += 4, q += 3) { rgb[q] = rgba[p]; rgb[q + 1] = rgba[p + 1]; rgb[q + 2] = rgba[p + 2]; }
        return rgb;
    }

    private static byte[] AddAlpha(byte[] rgb)
    {
        var rgba = new byte[rgb.Length / 3 * 4];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4) { rgba[q] = rgb[p]; rgba[q + 1] = rgb[p + 1]; rgba[q + 2] = rgb[p + 2]; rgba[q + 3] = 255; }
        return rgba;
    }
}
