using System.Globalization;
using VqVae.Data.Images;

namespace VqVae.Data.Datasets;

/// <summary>Loads a folder of image files (PNG, JPEG, WebP, BMP) as a dataset.</summary>
public static class ImageFolder
{
    /// <summary>
    /// Every image file under <paramref name="dir"/> (subfolders included; the extensions of
    /// <see cref="ImageFile.Extensions"/>, any case), sorted by relative
    /// path (ordinal), as [N, <paramref name="channels"/>, <paramref name="height"/>, <paramref name="width"/>]
    /// floats byte / 255. Channels are converted as <see cref="Image.WithChannels"/> does (grey ↔ RGB,
    /// alpha composited over black or made opaque). Images are not resized: a different size is an error.
    /// Labels: the name of the file's folder when it is a number (<c>3/a.png</c> → 3), else a numeric
    /// prefix of the file name before '_' or '-' (<c>7_b.png</c> → 7), else −1.
    /// Each file's header is checked for the size before its pixels are decoded.
    /// </summary>
    /// <example><code>var data = ImageFolder.Load("my-images", channels: 1, height: 28, width: 28);</code></example>
    /// <exception cref="DatasetFormatException">No folder, no image files, or an image of the wrong size.</exception>
    /// <exception cref="ImageFormatException">A file that is not a readable image, or above <paramref name="maxPixels"/> (the message names it).</exception>
    public static Dataset Load(string dir, int channels, int height, int width, long maxPixels = ImageFile.DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        if (channels is not (1 or 3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1, 3 or 4.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 1.");
        if (!Directory.Exists(dir)) throw new DatasetFormatException(dir, "the folder does not exist.");

        string root = Path.GetFullPath(dir);
        var files = Files(root);
        if (files.Length == 0) throw new DatasetFormatException(dir, $"the folder holds no image files ({string.Join(", ", ImageFile.Extensions)}).");

        long size = (long)channels * height * width;
        if (size > Array.MaxLength / files.Length)
            throw new DatasetFormatException(dir, $"{files.Length} images of {channels}×{height}×{width} values do not fit in one array.");
        var images = new float[(long)files.Length * size];
        var labels = new int[files.Length];
        for (int i = 0; i < files.Length; i++)
        {
            string path = Path.Combine(root, files[i]);
            byte[] bytes = ImageFile.ReadBytes(path);
            var info = ImageFile.DecodeInfo(bytes, path, maxPixels);
            if (info.Width != width || info.Height != height)
                throw new DatasetFormatException(path, $"the image is {info.Width}×{info.Height} but the dataset needs {width}×{height} (width×height).");
            var img = ImageFile.Decode(bytes, path, maxPixels);
            img.WithChannels(channels).ToChw().CopyTo(images, (long)i * size);
            labels[i] = LabelOf(files[i]);
        }
        return new Dataset(images, labels, files.Length, channels, height, width);
    }

    /// <summary>The image files under <paramref name="dir"/>, relative to it, in ordinal order.</summary>
    public static string[] Files(string dir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string root = Path.GetFullPath(dir);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => ImageFile.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(root, f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The label encoded in a relative path, or −1.</summary>
    internal static int LabelOf(string relativePath)
    {
        string? folder = Path.GetFileName(Path.GetDirectoryName(relativePath));
        if (!string.IsNullOrEmpty(folder) && int.TryParse(folder, NumberStyles.None, CultureInfo.InvariantCulture, out int fromFolder))
            return fromFolder;
        string name = Path.GetFileNameWithoutExtension(relativePath);
        int digits = 0;
        while (digits < name.Length && char.IsAsciiDigit(name[digits])) digits++;
        if (digits > 0 && digits < name.Length && name[digits] is '_' or '-'
            && int.TryParse(name.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out int fromName))
            return fromName;
        return -1;
    }
}
