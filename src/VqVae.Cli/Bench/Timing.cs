using System.Diagnostics;

namespace VqVae.Cli.Bench;

/// <summary>Median, min and max of timed runs, in milliseconds.</summary>
internal sealed record Timing(double Median, double Min, double Max, int Runs)
{
    /// <summary>Median process CPU milliseconds per run (all threads; 0 where unavailable).</summary>
    public double CpuMedian { get; init; }
    /// <summary>Median bytes allocated per run (all threads).</summary>
    public long BytesMedian { get; init; }
    /// <summary>Garbage collections (gen0, gen1, gen2) during the timed runs.</summary>
    public (int Gen0, int Gen1, int Gen2) Collections { get; init; }

    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times untimed, then <paramref name="runs"/> times timed.</summary>
    public static Timing Measure(Action body, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++) body();
        var ms = new double[runs];
        var cpu = new double[runs];
        var bytes = new double[runs];
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        for (int i = 0; i < runs; i++)
        {
            long b0 = GC.GetTotalAllocatedBytes(precise: false);
            long c0 = VqVae.Tensors.Diagnostics.OpProfiler.CpuNow();
            long t0 = Stopwatch.GetTimestamp();
            body();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            cpu[i] = (VqVae.Tensors.Diagnostics.OpProfiler.CpuNow() - c0) / 1e6;
            bytes[i] = GC.GetTotalAllocatedBytes(precise: false) - b0;
        }
        Array.Sort(ms);
        return new Timing(Median(ms), ms[0], ms[^1], runs)
        {
            CpuMedian = Median(cpu), BytesMedian = (long)Median(bytes),
            Collections = (GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2),
        };

        static double Median(double[] v)
        {
            var s = (double[])v.Clone();
            Array.Sort(s);
            int n = s.Length;
            return n == 0 ? 0 : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }
    }
}
