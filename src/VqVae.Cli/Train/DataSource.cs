using VqVae.Data.Datasets;
using VqVae.Data.Images;

namespace VqVae.Cli.Train;

/// <summary>The <c>--data</c> value: <c>synthetic</c>, <c>mnist:DIR</c> or <c>images:DIR</c> (alias <c>png:DIR</c>).</summary>
internal static class DataSource
{
    /// <summary>How many synthetic digits the built-in dataset holds (128 batches of 64).</summary>
    public const int SyntheticCount = 8192;

    public static Dataset Load(string spec, int seed)
    {
        var (kind, dir) = Split(spec);
        return kind switch
        {
            "synthetic" when dir is null => SyntheticDigits.Generate(SyntheticCount, Rng.Seed(seed).Fold(0x5EED)),
            "mnist" when dir is not null => Folder(dir, () => Mnist.Load(dir, train: true)),
            "images" or "png" when dir is not null => Folder(dir, () => LoadImages(dir)),
            _ => throw new UserError($"--data: expected synthetic, mnist:DIR or images:DIR, got '{spec}'"),
        };
    }

    private static (string Kind, string? Dir) Split(string spec)
    {
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return (spec.Trim().ToLowerInvariant(), null);
        var dir = spec[(colon + 1)..];
        return (spec[..colon].Trim().ToLowerInvariant(), dir.Length == 0 ? null : dir);
    }

    private static Dataset Folder(string dir, Func<Dataset> load)
    {
        if (!Directory.Exists(dir)) throw new UserError($"--data: no such folder: {dir}");
        return load();
    }

    // The first image (by its header) decides the size and whether the set is grey (1 channel) or colour (3).
    private static Dataset LoadImages(string dir)
    {
        var first = ImageFolder.Files(dir).FirstOrDefault()
            ?? throw new UserError($"--data: no image files ({string.Join(", ", ImageFile.Extensions)}) under {dir}");
        var info = ImageFile.ReadInfo(Path.Combine(dir, first));
        return ImageFolder.Load(dir, info.Channels == 1 ? 1 : 3, info.Height, info.Width);
    }
}
