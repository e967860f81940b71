using VqVae.Data.Datasets;
using VqVae.Data.Images;

namespace VqVae.Cli.Train;

/// <summary>
/// The <c>--data</c> value (DESIGN §7): <c>mnist</c> (the built-in 8,000 / 2,000 digits),
/// <c>synthetic</c>, <c>mnist:DIR</c> or <c>images:DIR</c> (alias <c>png:DIR</c>), as a training part
/// and a held-out part that training never sees.
/// </summary>
internal static class DataSource
{
    /// <summary>The default <c>--data</c>.</summary>
    public const string Default = "mnist";

    /// <summary>How many synthetic digits the built-in dataset holds (128 batches of 64).</summary>
    public const int SyntheticCount = 8192;

    /// <summary>How many synthetic digits are held out (drawn with their own key, so none is a training image).</summary>
    public const int SyntheticHeldOut = 2000;

    /// <summary>The training part.</summary>
    public static Dataset Load(string spec, int seed) => LoadSplit(spec, seed).Train;

    /// <summary>The held-out part.</summary>
    public static Dataset HeldOut(string spec, int seed) => LoadSplit(spec, seed).HeldOut;

    /// <summary>
    /// Both parts. <c>mnist</c>: the built-in split. <c>synthetic</c>: 8,192 digits and 2,000 more from
    /// another key. <c>mnist:DIR</c>: the train files, and the t10k files when present. Otherwise (and
    /// for <c>images:DIR</c>) a fixed fifth of the images, chosen by a seeded shuffle, is held out.
    /// </summary>
    public static (Dataset Train, Dataset HeldOut) LoadSplit(string spec, int seed)
    {
        var (kind, dir) = Split(spec);
        return kind switch
        {
            "mnist" when dir is null => (BuiltInMnist.Train(), BuiltInMnist.HeldOut()),
            "synthetic" when dir is null => (SyntheticDigits.Generate(SyntheticCount, Rng.Seed(seed).Fold(0x5EED)),
                                             SyntheticDigits.Generate(SyntheticHeldOut, Rng.Seed(seed).Fold(0xE7A1))),
            "mnist" when dir is not null => Folder(dir, () => MnistSplit(dir)),
            "images" or "png" when dir is not null => Folder(dir, () => HoldOutFifth(LoadImages(dir))),
            _ => throw new UserError($"--data: expected mnist, synthetic, mnist:DIR or images:DIR, got '{spec}'"),
        };
    }

    private static (Dataset, Dataset) MnistSplit(string dir)
    {
        var train = Mnist.Load(dir, train: true);
        bool hasTest = Directory.EnumerateFiles(dir, "t10k-*").Any();
        return hasTest ? (train, Mnist.Load(dir, train: false)) : HoldOutFifth(train);
    }

    // A fixed (seed 0) fifth of the images, at least one, is held out; the rest train.
    private static (Dataset, Dataset) HoldOutFifth(Dataset all)
    {
        if (all.Count < 2) return (all, all);
        int held = Math.Max(1, all.Count / 5);
        int[] order = Rng.Seed(0).Permutation(all.Count);
        return (all.Select(order[held..]), all.Select(order[..held]));
    }

    /// <summary>The data set in words for the banner: "synthetic digits", "MNIST in DIR", "PNG files in DIR".</summary>
    public static string Describe(string spec)
    {
        var (kind, dir) = Split(spec);
        return kind switch
        {
            "synthetic" => "synthetic digits",
            "mnist" when dir is null => "built-in MNIST",
            "mnist" => $"MNIST in {dir}",
            "images" or "png" => $"image files in {dir}",
            _ => spec,
        };
    }

    private static (string Kind, string? Dir) Split(string spec)
    {
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return (spec.Trim().ToLowerInvariant(), null);
        var dir = spec[(colon + 1)..];
        return (spec[..colon].Trim().ToLowerInvariant(), dir.Length == 0 ? null : dir);
    }

    private static T Folder<T>(string dir, Func<T> load)
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
