using System.Diagnostics;
using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Bench;

/// <summary>
/// Stopwatch timings (median of a few reps) printed as GFLOP/s, for reading figures in seconds:
/// <c>dotnet run -c Release --project bench/VqVae.Bench -- quick [gemm|conv|nearest]</c>.
/// </summary>
public static class Quick
{
    /// <summary>Runs the selected groups (all when none given).</summary>
    public static void Run(string[] args)
    {
        bool all = args.Length == 0;
        bool Want(string s) => all || args.Contains(s);
        Console.WriteLine($"ISA level: {CpuIsa.Name(CpuIsa.Level)} (best here {CpuIsa.Name(CpuIsa.Best)}; {CpuIsa.EnvironmentVariable} forces one); processors: {Environment.ProcessorCount}");
        if (Want("gemm")) GemmFigures();
        if (Want("conv")) ConvFigures();
        if (Want("nearest")) NearestFigures();
    }

    /// <summary>Median and best wall time of reps runs after one warm-up.</summary>
    private static (double median, double best) Time(int reps, Action body)
    {
        for (int w = 0; w < 3; w++) body(); // warm-up (JIT tiers, scratch buffers)
        var ts = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            ts[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(ts);
        return (ts[reps / 2], ts[0]);
    }

    private static void GemmFigures()
    {
        foreach (int size in new[] { 2048 })
        {
            var p = new GemmProblem(size, size, size);
            foreach (int threads in new[] { 1, 2 })
            {
                VqVae.Tensors.Backend.Threads = threads;
                var (s, best) = Time(5, p.Run);
                Console.WriteLine($"gemm {size}³ threads={threads}: median {s * 1e3,7:F1} ms {p.Flops / s / 1e9,6:F1} GFLOP/s ({100 * p.Flops / s / 1e9 / 218,3:F0}% of 218); best {p.Flops / best / 1e9,6:F1} GFLOP/s");
            }
        }
        VqVae.Tensors.Backend.Threads = Environment.ProcessorCount;
    }

    private static void ConvFigures()
    {
        // Each kernel at 1 and 2 threads: the ratio is the parallel efficiency we are chasing.
        double total1 = 0, total2 = 0, totalCpu1 = 0, totalCpu2 = 0;
        foreach (var layer in ConvLayers.All)
        {
            var p = new ConvProblem(layer);
            foreach (var (name, run) in new (string, Action)[] { ("fwd", p.Forward), ("bwd-in", p.BackwardInput), ("bwd-w", p.BackwardWeight) })
            {
                VqVae.Tensors.Backend.Threads = 1;
                long c0 = VqVae.Tensors.Diagnostics.OpProfiler.CpuNow();
                var (s1, _) = Time(7, run);
                double cpu1 = (VqVae.Tensors.Diagnostics.OpProfiler.CpuNow() - c0) / 1e6 / 10;
                VqVae.Tensors.Backend.Threads = 2;
                c0 = VqVae.Tensors.Diagnostics.OpProfiler.CpuNow();
                var (s, best) = Time(7, run);
                double cpu2 = (VqVae.Tensors.Diagnostics.OpProfiler.CpuNow() - c0) / 1e6 / 10;
                total1 += s1; total2 += s; totalCpu1 += cpu1; totalCpu2 += cpu2;
                Console.WriteLine($"{layer.Name,-5} {name,-7}: 2T median {s * 1e3,7:F2} ms {layer.Geometry.Flops / s / 1e9,6:F1} GFLOP/s; best {best * 1e3,7:F2} ms; 1T {s1 * 1e3,7:F2} ms; 1T/2T {s1 / s,4:F2}; cpu ms/call 1T {cpu1,6:F2} 2T {cpu2,6:F2}");
            }
        }
        Console.WriteLine($"all conv kernels: 1T {total1 * 1e3:F1} ms, 2T {total2 * 1e3:F1} ms, 1T/2T {total1 / total2:F2}; cpu 1T {totalCpu1:F1} ms, 2T {totalCpu2:F1} ms");
        VqVae.Tensors.Backend.Threads = Environment.ProcessorCount;
    }

    private static void NearestFigures()
    {
        VqVae.Tensors.Backend.Threads = 2;
        var p = new NearestProblem(64 * 49, 64, 512);
        var (s, best) = Time(9, p.Run);
        Console.WriteLine($"nearest n={p.N} d={p.D} k={p.K}: median {s * 1e3,7:F2} ms; best {best * 1e3,7:F2} ms");
        VqVae.Tensors.Backend.Threads = Environment.ProcessorCount;
    }
}
