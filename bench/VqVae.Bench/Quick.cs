using System.Diagnostics;
using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Bench;

/// <summary>
/// Stopwatch timings (median of a few reps) printed as GFLOP/s, for reading figures in seconds:
/// <c>dotnet run -c Release --project bench/VqVae.Bench -- quick [gemm|conv|nearest|kernel]</c>.
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
        if (args.Contains("kernel")) KernelPeak();
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
                long c0 = VqVae.Tensors.Diagnostics.OpProfiler.CpuNow();
                var (s, best) = Time(5, p.Run);
                // CPU time covers the 3 warm-ups and 5 timed runs; per CPU second it is robust to a busy machine.
                double cpuS = (VqVae.Tensors.Diagnostics.OpProfiler.CpuNow() - c0) / 1e9 / 8;
                Console.WriteLine($"gemm {size}³ threads={threads}: median {s * 1e3,7:F1} ms {p.Flops / s / 1e9,6:F1} GFLOP/s; best {p.Flops / best / 1e9,6:F1} GFLOP/s; {p.Flops / cpuS / 1e9,6:F1} GFLOP per CPU-s");
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

    /// <summary>
    /// The current level's micro-kernel alone on L1-resident panels: the ceiling the GEMM's blocking can reach
    /// on this machine (libtorch's mm is measured against it in the notes).
    /// </summary>
    private static unsafe void KernelPeak()
    {
        var kern = GemmKernels.Current;
        int kc = 384;
        var a = new float[kc * kern.MR + 64]; var b = new float[kc * kern.NR + 64]; var c = new float[kern.MR * kern.NR + 64];
        for (int i = 0; i < a.Length; i++) a[i] = 1e-3f * (i % 7);
        for (int i = 0; i < b.Length; i++) b[i] = 1e-3f * (i % 5);
        fixed (float* pa = a, pb = b, pc = c)
        {
            float* pa2 = pa, pb2 = pb, pc2 = pc;
            int reps = 20000;
            var (s, best) = Time(5, () => { for (int r = 0; r < reps; r++) kern.Run(kc, pa2, pb2, pc2, kern.NR, 1, 0f); });
            double flops = 2.0 * kc * kern.MR * kern.NR * reps;
            Console.WriteLine($"micro-kernel {kern.MR}x{kern.NR} kc={kc} L1-resident: {flops / s / 1e9:F1} GFLOP/s (best {flops / best / 1e9:F1})");
        }
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
