namespace VqVae.Tensors.Backend.Cpu;

/// <summary>
/// How many threads the CPU kernels may use. Work is always split into the same fixed chunks
/// whatever the thread count, so results are bitwise identical run to run.
/// </summary>
public static class Threading
{
    private static int threads = Environment.ProcessorCount;

    /// <summary>Worker count for parallel kernels (default: processor count; at least 1).</summary>
    public static int Threads
    {
        get => threads;
        set => threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Threads must be at least 1.");
    }
}
