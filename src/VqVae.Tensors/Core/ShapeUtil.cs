namespace VqVae.Tensors;

/// <summary>Shape arithmetic shared by the AD layer and the kernels: sizes, strides, broadcasting.</summary>
public static class ShapeUtil
{
    /// <summary>Number of elements of a shape (1 for a scalar shape []).</summary>
    public static int Size(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n > int.MaxValue) throw new ArgumentException($"shape {Format(shape)} has {n} elements, more than a tensor can hold.");
        return (int)n;
    }

    /// <summary>Row-major strides of a shape.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>"[2,3,4]" — how shapes appear in error messages.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    /// <summary>The broadcast shape of two shapes (NumPy rules), or an error naming both.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)];
            int db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /// <summary>Normalises a possibly negative dimension index, or throws naming the argument.</summary>
    public static int Dim(string op, int dim, int rank, string arg = "dim")
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new ArgumentOutOfRangeException(arg, dim, $"{op}: {arg} must be in [{-rank}, {rank - 1}] for a tensor of rank {rank}, got {dim}.");
        return d;
    }

    /// <summary>Checks a shape has no negative dimension.</summary>
    public static void CheckShape(string op, string arg, ReadOnlySpan<int> shape)
    {
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"{op}: {arg} must have non-negative dimensions, got {Format(shape)}.", arg);
    }

    internal static bool SameShape(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);
}
