using System.Runtime.CompilerServices;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// A few dedicated worker threads for <see cref="Threading.For"/>, cheaper and more predictable than
/// Parallel.For on the thread pool for our pattern (dozens of short parallel loops per train step
/// with serial work between them).
/// </summary>
/// <remarks>
/// Why not Parallel.For: its caller waits for every replica task it queued, so a worker that is late
/// to start (descheduled, or still parked) stalls the caller even after all indices are done; and
/// idle pool workers spin between our loops, burning CPU the other core needed. Here indices are
/// claimed from a shared counter by the caller and whichever workers wake in time, and the caller
/// waits only for indices already claimed; parked workers block on a semaphore.
/// Which thread runs an index never matters to results (see <see cref="Threading"/>).
/// </remarks>
internal static class WorkerPool
{
    private sealed class Job(int count, Action<int> body)
    {
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public int Next;      // next unclaimed index
        public int Done;      // indices finished (run or failed)
        public Exception? Error;

        /// <summary>Claims and runs indices until none are left.</summary>
        public void Drain()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < Count)
            {
                try { Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                Interlocked.Increment(ref Done);
            }
        }
    }

    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly object StartLock = new();
    private static Job? current;
    private static int started;
    private static int busy;
    [ThreadStatic] private static bool onWorker;

    /// <summary>
    /// Runs body over 0..count−1 on the caller and up to helpers workers. Returns false (running
    /// nothing) when the pool is already in use — a nested call, or another caller thread — so the
    /// caller runs the loop serially instead.
    /// </summary>
    public static bool TryRun(int count, int helpers, Action<int> body)
    {
        if (onWorker || Interlocked.CompareExchange(ref busy, 1, 0) != 0) return false;
        try
        {
            EnsureWorkers(helpers);
            var job = new Job(count, body);
            Volatile.Write(ref current, job);
            Wake.Release(helpers);
            job.Drain();
            // Only indices already claimed by a worker can still be running: wait for those alone.
            var spin = new SpinWait();
            // Stryker disable once Unary : equivalent in results, the threshold only chooses between spinning and sleeping while waiting
            while (Volatile.Read(ref job.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            // Stryker disable once Statement : equivalent in results, a late wake-up then finds this finished job's counter exhausted instead of no job (see Work)
            Volatile.Write(ref current, null);
            if (job.Error != null) throw new AggregateException(job.Error);
            return true;
        }
        finally { Volatile.Write(ref busy, 0); }
    }

    private static void EnsureWorkers(int n)
    {
        if (Volatile.Read(ref started) >= n) return;
        lock (StartLock)
        {
            for (; started < n; started++)
                new Thread(Work) { IsBackground = true, Name = $"VqVae worker {started + 1}" }.Start();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Work()
    {
        // Stryker disable once Boolean : equivalent in results, a nested call on a worker also finds the pool busy (the loop it runs in holds it)
        onWorker = true;
        while (true)
        {
            Wake.Wait();
            // A wake-up meant for a loop that has already finished finds its counter exhausted, or
            // finds no loop at all: either way it runs nothing.
            Volatile.Read(ref current)?.Drain();
        }
    }
}
