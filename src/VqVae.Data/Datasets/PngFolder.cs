using System.Globalization;
using VqVae.Data.Images;

namespace VqVae.Data.Datasets;

/// <summary>Loads a folder of PNG files as a dataset.</summary>
public static class PngFolder
{
    /// <summary>
    /// Every <c>.png</c> under <paramref name="dir"/> (subfolders included), sorted by relative
    /// path (ordinal), as [N, <paramref name="channels"/>, <paramref name="height"/>, <paramref name="width"/>]
    /// floats byte / 255. Channels are converted as <see cref="Image.WithChannels"/> does (grey ↔ RGB,
    /// alpha composited over black or made opaque). Images are not resized: a different size is an error.
    /// Labels: the name of the file's folder when it is a number (<c>3/a.png</c> → 3), else a numeric
    /// prefix of the file name before '_' or '-' (<c>7_b.png</c> → 7), else −1.
    /// </summary>
    /// <example><code>var data = PngFolder.Load("my-images", channels: 1, height: 28, width: 28);</code></example>
    /// <exception cref="DatasetFormatException">No folder, no PNGs, or an image of the wrong size.</exception>
    /// <exception cref="PngFormatException">A file that is not a readable PNG (the message names it).</exception>
    public static Dataset Load(string dir, int channels, int height, int width)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        if (channels is not (1 or 3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1, 3 or 4.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 1.");
        if (!Directory.Exists(dir)) throw new DatasetFormatException(dir, "the folder does not exist.");

        string root = Path.GetFullPath(dir);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(root, f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0) throw new DatasetFormatException(dir, "the folder holds no .png files.");

        int size = channels * height * width;
        var images = new float[(long)files.Length * size];
        var labels = new int[files.Length];
        for (int i = 0; i < files.Length; i++)
        {
            string path = Path.Combine(root, files[i]);
            var img = Png.Read(path);
            if (img.Width != width || img.Height != height)
                throw new DatasetFormatException(path, $"the image is {img.Width}×{img.Height} but the dataset needs {width}×{height} (width×height).");
            img.WithChannels(channels).ToChw().CopyTo(images, (long)i * size);
            labels[i] = LabelOf(files[i]);
        }
        return new Dataset(images, labels, files.Length, channels, height, width);
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
