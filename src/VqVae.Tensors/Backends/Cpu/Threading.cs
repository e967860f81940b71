namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// How many threads the CPU kernels may use. Work is always split into chunks whose results do
/// not depend on which worker runs them or how many workers there are (reductions are never split
/// across chunks in a thread-dependent way), so results are bitwise identical run to run and for
/// any thread count.
/// </summary>
internal static class Threading
{
    private static int threads = Environment.ProcessorCount;

    /// <summary>Worker count for parallel kernels (default: processor count; at least 1).</summary>
    public static int Threads
    {
        get => threads;
        set => threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Threads must be at least 1.");
    }

    /// <summary>
    /// Runs body(0..count-1), in parallel over at most <see cref="Threads"/> workers when
    /// <paramref name="parallel"/> is set. Each index must write disjoint outputs; which worker
    /// takes which index is left to the scheduler, so it must not influence any result.
    /// </summary>
    internal static void For(int count, bool parallel, Action<int> body)
    {
        // Stryker disable once Linq : equivalent in results, more helpers than indices find nothing to claim (which worker runs an index never matters)
        int t = Math.Min(threads, count);
        if (!parallel || t <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        // Stryker disable once Arithmetic : equivalent in results, an extra helper only claims indices another thread would have run
        if (!WorkerPool.TryRun(count, t - 1, body))
            for (int i = 0; i < count; i++) body(i);
    }
}
