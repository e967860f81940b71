namespace VqVae.Data.Datasets;

/// <summary>Loads MNIST (or Fashion-MNIST, which uses the same file names) from a folder of IDX files.</summary>
public static class Mnist
{
    /// <summary>
    /// The training (60 000) or test (10 000) images of <paramref name="dir"/> as a dataset
    /// [N, 1, 28, 28] with values byte / 255 and the digit labels. Looks for
    /// <c>train-images-idx3-ubyte</c> / <c>train-labels-idx1-ubyte</c> (or <c>t10k-…</c> when
    /// <paramref name="train"/> is false), also spelled <c>train-images.idx3-ubyte</c>, each raw or <c>.gz</c>.
    /// </summary>
    /// <example><code>var train = Mnist.Load("data/mnist", train: true);</code></example>
    /// <exception cref="DatasetFormatException">Files missing or malformed, or image and label counts differ.</exception>
    public static Dataset Load(string dir, bool train = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        if (!Directory.Exists(dir)) throw new DatasetFormatException(dir, "the folder does not exist.");
        string prefix = train ? "train" : "t10k";
        string imagesPath = Find(dir, prefix, "images", 3);
        string labelsPath = Find(dir, prefix, "labels", 1);

        var images = Idx.Read(imagesPath);
        var labels = Idx.Read(labelsPath);
        if (images.Shape.Length != 3)
            throw new DatasetFormatException(imagesPath, $"expected images of shape [N, height, width], found [{string.Join(", ", images.Shape)}].");
        if (images.Shape[0] < 1 || images.Shape[1] < 1 || images.Shape[2] < 1)
            throw new DatasetFormatException(imagesPath, $"expected at least one image of at least 1×1 pixels, found shape [{string.Join(", ", images.Shape)}].");
        if (labels.Shape.Length != 1)
            throw new DatasetFormatException(labelsPath, $"expected labels of shape [N], found [{string.Join(", ", labels.Shape)}].");
        if (images.Shape[0] != labels.Shape[0])
            throw new DatasetFormatException(dir, $"{images.Shape[0]} images in {Path.GetFileName(imagesPath)} but {labels.Shape[0]} labels in {Path.GetFileName(labelsPath)}.");
        return FromIdx(images, labels, dir);
    }

    /// <summary>A dataset [N, 1, H, W] (values byte / 255) from IDX images [N, H, W] and labels [N];
    /// <paramref name="source"/> names them in errors.</summary>
    /// <exception cref="DatasetFormatException">Shapes that do not fit together.</exception>
    public static Dataset FromIdx(IdxArray images, IdxArray labels, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Shape.Length != 3 || labels.Shape.Length != 1 || images.Shape[0] != labels.Shape[0])
            throw new DatasetFormatException(source,
                $"images [{string.Join(", ", images.Shape)}] and labels [{string.Join(", ", labels.Shape)}] do not match: expected [N, height, width] and [N].");
        var pixels = new float[images.Data.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = images.Data[i] / 255f;
        var y = Array.ConvertAll(labels.Data, b => (int)b);
        return new Dataset(pixels, y, images.Shape[0], 1, images.Shape[1], images.Shape[2]);
    }

    private static string Find(string dir, string prefix, string kind, int rank)
    {
        string[] names = [$"{prefix}-{kind}-idx{rank}-ubyte", $"{prefix}-{kind}.idx{rank}-ubyte"];
        var tried = names.SelectMany(n => new[] { n, n + ".gz" }).ToArray();
        foreach (var name in tried)
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path)) return path;
        }
        throw new DatasetFormatException(dir, $"no MNIST {kind} file; looked for {string.Join(", ", tried)}.");
    }
}
