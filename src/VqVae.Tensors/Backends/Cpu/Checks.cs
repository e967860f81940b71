namespace VqVae.Tensors.Backends.Cpu;

/// <summary>Argument checks shared by the kernels: each names the argument, the expected and the actual value.</summary>
internal static class Checks
{
    public static void NonNegative(int value, string name)
    {
        if (value < 0) throw new ArgumentException($"{name} must be non-negative; got {value}.", name);
    }

    public static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentException($"{name} must be at least 1; got {value}.", name);
    }

    /// <summary>A span holding a rows×cols matrix with leading dimension ld must have (rows−1)·ld + cols elements.</summary>
    public static void Matrix(int length, int rows, int cols, int ld, string name, string ldName)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{ldName} must be at least {Math.Max(1, cols)} (the stored row length of {name}); got {ld}.", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{name} is too short for a {rows}×{cols} matrix with leading dimension {ld}: expected at least {need} elements, got {length}.", name);
    }

    public static void Length(int length, long expected, string name, string what)
    {
        if (length < expected)
            throw new ArgumentException($"{name} is too short for {what}: expected at least {expected} elements, got {length}.", name);
    }
}
