using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VqVae.Tensors.Diagnostics;

/// <summary>One row of <see cref="OpProfiler.Snapshot"/>: an op (or a backward rule) and what it cost.</summary>
/// <param name="Name">"fwd conv2d", "bwd conv2d", "bwd accumulate", "adam", …</param>
/// <param name="Calls">How many times it ran.</param>
/// <param name="WallMs">Wall-clock milliseconds, summed.</param>
/// <param name="CpuMs">Process CPU milliseconds (all threads), summed; 0 where the platform has no such clock.</param>
/// <param name="AllocatedBytes">Bytes allocated on the calling thread, summed.</param>
public sealed record OpTiming(string Name, long Calls, double WallMs, double CpuMs, long AllocatedBytes);

/// <summary>
/// Opt-in per-op timer of the AD layer: forward time per op name, backward time per rule, keyed by
/// op name, with wall time, process CPU time and allocated bytes. Off by default; when off, each op
/// pays one static read. Nested ops (the tensor ops a backward rule calls) count towards the outer
/// entry only. Not thread-safe: profile from one thread.
/// </summary>
/// <example><code>
/// OpProfiler.Enabled = true; OpProfiler.Reset();
/// RunSomeSteps();
/// foreach (var t in OpProfiler.Snapshot()) Console.WriteLine($"{t.Name} {t.WallMs:F2}");
/// </code></example>
public static class OpProfiler
{
    private static readonly Dictionary<(string Name, string Phase), (long Calls, long Ticks, long CpuNs, long Bytes)> table = new();
    private static int depth;

    /// <summary>Turns the timer on or off (process-wide).</summary>
    public static bool Enabled { get; set; }

    /// <summary>Forgets everything measured so far.</summary>
    public static void Reset() { lock (table) table.Clear(); }

    /// <summary>What was measured since the last <see cref="Reset"/>, most expensive (wall) first.</summary>
    public static IReadOnlyList<OpTiming> Snapshot()
    {
        lock (table)
            return table.Select(kv => new OpTiming(kv.Key.Phase + kv.Key.Name, kv.Value.Calls, kv.Value.Ticks * 1e3 / Stopwatch.Frequency, kv.Value.CpuNs / 1e6, kv.Value.Bytes))
                .OrderByDescending(t => t.WallMs).ToArray();
    }

    /// <summary>Starts timing <paramref name="name"/>; dispose the result to stop. Free when the profiler is off.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scope Time(string name) => Enabled ? Begin(name, "fwd ") : default;

    /// <summary>Starts timing the backward rule of <paramref name="name"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scope TimeBackward(string name) => Enabled ? Begin(name, "bwd ") : default;

    /// <summary>Starts timing a phase that is not an op (e.g. "adam", "step"), reported under its own name.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scope TimePhase(string name) => Enabled ? Begin(name, "") : default;

    /// <summary>
    /// Starts timing a part of the op being timed (e.g. a conv's weight gradient), reported as
    /// "  · name" and not counted again in the totals (its time is inside its op's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scope TimePart(string name) => Enabled ? new Scope(name, PartPrefix, Stopwatch.GetTimestamp(), CpuNow(), GC.GetAllocatedBytesForCurrentThread(), entered: false) : default;

    /// <summary>Prefix of the rows made by <see cref="TimePart"/>.</summary>
    public const string PartPrefix = "  · ";

    private static Scope Begin(string name, string phase)
    {
        if (depth++ > 0) return new Scope(null, null, 0, 0, 0, entered: true);
        return new Scope(name, phase, Stopwatch.GetTimestamp(), CpuNow(), GC.GetAllocatedBytesForCurrentThread(), entered: true);
    }

    /// <summary>A running measurement.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly string? name, phase;
        private readonly long t0, cpu0, bytes0;
        private readonly bool entered;
        internal Scope(string? name, string? phase, long t0, long cpu0, long bytes0, bool entered) { this.name = name; this.phase = phase; this.t0 = t0; this.cpu0 = cpu0; this.bytes0 = bytes0; this.entered = entered; }

        /// <summary>Stops and records the measurement.</summary>
        public void Dispose()
        {
            if (name is null) { if (entered) depth--; return; } // nested inside another measured op: counted there
            if (entered) depth--;
            long t = Stopwatch.GetTimestamp() - t0, c = CpuNow() - cpu0, b = GC.GetAllocatedBytesForCurrentThread() - bytes0;
            lock (table)
            {
                table.TryGetValue((name, phase!), out var e);
                table[(name, phase!)] = (e.Calls + 1, e.Ticks + t, e.CpuNs + c, e.Bytes + b);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec ts);

    private static bool cpuClock = OperatingSystem.IsLinux();

    /// <summary>Process CPU time in nanoseconds (all threads); 0 where unavailable.</summary>
    public static long CpuNow()
    {
        if (!cpuClock) return 0;
        try
        {
            if (ClockGetTime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var ts) != 0) return 0;
            return ts.Sec * 1_000_000_000 + ts.Nsec;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            cpuClock = false;
            return 0;
        }
    }
}
