using System.Diagnostics;

namespace VqVae.Cli.Bench;

/// <summary>Median, min and max of timed runs, in milliseconds.</summary>
internal sealed record Timing(double Median, double Min, double Max, int Runs)
{
    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times untimed, then <paramref name="runs"/> times timed.</summary>
    public static Timing Measure(Action body, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++) body();
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        double median = runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        return new Timing(median, ms[0], ms[^1], runs);
    }
}
