using VqVae.Data.Images;

namespace VqVae.Data.Datasets;

/// <summary>
/// An immutable set of labelled images: <see cref="Images"/> is row-major
/// <c>[Count, Channels, Height, Width]</c> with values in [0, 1]; <see cref="Labels"/> has one
/// entry per image (−1 where unknown). The arrays are not copied; treat them as read-only.
/// </summary>
/// <example><code>
/// var data = SyntheticDigits.Generate(1000, Rng.Seed(0));
/// var (train, test) = (data.Slice(0, 900), data.Slice(900, 100));
/// float[] first = data.ImageAt(0); // 784 values
/// </code></example>
public sealed record Dataset(float[] Images, int[] Labels, int Count, int Channels, int Height, int Width)
{
    /// <summary>Number of images (≥ 0).</summary>
    public int Count { get; init; } = Count >= 0 ? Count : throw new ArgumentOutOfRangeException(nameof(Count), Count, "Count must be non-negative.");
    /// <summary>Channels per image (≥ 1).</summary>
    public int Channels { get; init; } = Channels >= 1 ? Channels : throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "Channels must be at least 1.");
    /// <summary>Image height (≥ 1).</summary>
    public int Height { get; init; } = Height >= 1 ? Height : throw new ArgumentOutOfRangeException(nameof(Height), Height, "Height must be at least 1.");
    /// <summary>Image width (≥ 1).</summary>
    public int Width { get; init; } = Width >= 1 ? Width : throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be at least 1.");

    /// <summary>The images, <c>[Count, Channels, Height, Width]</c>.</summary>
    public float[] Images { get; init; } = CheckLength(Images, nameof(Images), (long)Count * Channels * Height * Width);
    /// <summary>One label per image, −1 where unknown.</summary>
    public int[] Labels { get; init; } = CheckLength(Labels, nameof(Labels), Count);

    /// <summary>Values per image: Channels·Height·Width.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>A copy of image <paramref name="i"/>, <c>[Channels, Height, Width]</c>.</summary>
    public float[] ImageAt(int i)
    {
        CheckIndex(i);
        return Images.AsSpan(i * ImageSize, ImageSize).ToArray();
    }

    /// <summary>Image <paramref name="i"/> as an 8-bit picture (channels 1, 3 or 4).</summary>
    public Image ToImage(int i)
    {
        CheckIndex(i);
        return Image.FromChw(Images, Channels, Height, Width, offset: i * ImageSize);
    }

    /// <summary>The <paramref name="count"/> images from <paramref name="start"/> on.</summary>
    public Dataset Slice(int start, int count)
    {
        if (start < 0 || start > Count) throw new ArgumentOutOfRangeException(nameof(start), start, $"start must be in 0..{Count}.");
        if (count < 0 || count > Count - start)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in 0..{Count - start} (start {start} of {Count}).");
        return new Dataset(Images.AsSpan(start * ImageSize, count * ImageSize).ToArray(), Labels.AsSpan(start, count).ToArray(),
            count, Channels, Height, Width);
    }

    /// <summary>The images at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public Dataset Select(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int n = indices.Count, size = ImageSize;
        var images = new float[(long)n * size];
        var labels = new int[n];
        for (int j = 0; j < n; j++)
        {
            int i = indices[j];
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"indices[{j}] = {i} is outside 0..{Count - 1}.");
            Array.Copy(Images, (long)i * size, images, (long)j * size, size);
            labels[j] = Labels[i];
        }
        return new Dataset(images, labels, n, Channels, Height, Width);
    }

    /// <summary>The first <paramref name="count"/> images (all of them if fewer).</summary>
    public Dataset Take(int count) => Slice(0, Math.Min(Math.Max(count, 0), Count));

    private void CheckIndex(int i)
    {
        if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i), i, $"index must be in 0..{Count - 1}.");
    }

    private static T[] CheckLength<T>(T[] array, string name, long expected)
    {
        ArgumentNullException.ThrowIfNull(array, name);
        if (array.Length != expected)
            throw new ArgumentException($"{name} must hold {expected} values for the given Count and shape, not {array.Length}.", name);
        return array;
    }
}
