using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Checkpoints;

/// <summary>
/// Batch files (DESIGN §6, contract): safetensors with one float32 tensor under the key <c>x</c>,
/// images [B,C,H,W] in pixels ([0, 1]), as <c>routes</c> and <c>gradients</c> read them.
/// </summary>
/// <example><code>
/// BatchFile.Write("batch.safetensors", x);
/// var back = BatchFile.Read("batch.safetensors");
/// </code></example>
public static class BatchFile
{
    /// <summary>The key of the images.</summary>
    public const string Key = "x";

    /// <summary>Writes <paramref name="x"/> [B,C,H,W] atomically.</summary>
    public static void Write(string path, Tensor x)
    {
        // Stryker disable once Statement : SafeTensors.Write refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"batch file: x must be [B,C,H,W], got [{string.Join(",", x.Shape)}].", nameof(x));
        SafeTensors.Write(path, [new SafeTensorEntry(Key, x.Shape, x.ToArray())]);
    }

    /// <summary>The images in the file.</summary>
    /// <exception cref="InvalidDataException">The file has no <c>x</c>, it is not [B,C,H,W] with every size ≥ 1, or it holds NaN or infinity; the message names the file.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not a readable safetensors file.</exception>
    public static Tensor Read(string path)
    {
        // Stryker disable once Statement : SafeTensors.Read refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = SafeTensors.Read(path);
        if (!file.TryGet(Key, out var x))
            throw new InvalidDataException($"batch file {path} has no tensor named '{Key}' (it has: {string.Join(", ", file.Names)}).");
        if (x.Shape.Length != 4)
            throw new InvalidDataException($"batch file {path}: '{Key}' must be [B,C,H,W], got [{string.Join(",", x.Shape)}].");
        if (x.Shape.Any(d => d == 0))
            throw new InvalidDataException($"batch file {path}: '{Key}' has shape [{string.Join(",", x.Shape)}]; B, C, H and W must all be at least 1.");
        int bad = Array.FindIndex(x.Data, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"batch file {path}: '{Key}' holds {x.Data.Count(v => !float.IsFinite(v))} non-finite value(s) (the first, {x.Data[bad]}, at index {bad}); images must be finite."));
        return Tensor.FromArray(x.Data, x.Shape);
    }
}
