namespace VqVae.Tensors.IO;

/// <summary>
/// One named float32 tensor of a safetensors file: its shape and its row-major values.
/// The element count of <see cref="Shape"/> must equal <c>Data.Length</c> (a scalar has shape []).
/// The arrays are not copied; treat them as read-only.
/// </summary>
/// <example><code>var w = new SafeTensorEntry("encoder.0.weight", [128, 1, 4, 4], weights);</code></example>
public sealed record SafeTensorEntry(string Name, int[] Shape, float[] Data)
{
    /// <summary>The tensor's key in the file (for checkpoints, the PyTorch state_dict name).</summary>
    public string Name { get; init; } = Name ?? throw new ArgumentNullException(nameof(Name));

    /// <summary>Dimensions, outermost first; every dimension is ≥ 0.</summary>
    public int[] Shape { get; init; } = CheckShape(Name, Shape);

    /// <summary>Row-major values; <c>Data.Length</c> equals the product of <see cref="Shape"/>.</summary>
    public float[] Data { get; init; } = CheckData(Name, Shape, Data);

    /// <summary>The number of elements the shape holds (1 for a scalar).</summary>
    public static long ElementCount(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        // A zero dimension makes the count 0 however large the others are, with no overflow on the way.
        if (shape.Contains(0)) return 0;
        long n = 1;
        foreach (int d in shape) n = checked(n * d);
        return n;
    }

    private static int[] CheckShape(string name, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape, nameof(Shape));
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] < 0)
                throw new ArgumentException($"Tensor '{name}': dimension {i} of shape [{string.Join(", ", shape)}] is negative.", nameof(Shape));
        return shape;
    }

    private static float[] CheckData(string name, int[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data, nameof(Data));
        long expected = ElementCount(shape); // not null: the Shape initialiser, which runs first, refused null
        if (expected != data.Length)
            throw new ArgumentException(
                $"Tensor '{name}': shape [{string.Join(", ", shape)}] holds {expected} elements but Data has {data.Length}.", nameof(Data));
        return data;
    }
}
