using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Bench;

/// <summary>
/// GFLOP/s from a benchmark's mean time and the FLOP count its case declares through
/// <see cref="IFlops"/> (2·m·n·k for GEMM, ConvGeometry.Flops for convolutions).
/// </summary>
public sealed class GflopsColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => "GFLOPs";
    /// <inheritdoc/>
    public string ColumnName => "GFLOP/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc/>
    public int PriorityInCategory => 0;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "Floating-point operations per second (billions), from the mean time";
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        var instance = (IFlops)Activator.CreateInstance(benchmarkCase.Descriptor.Type)!;
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
        double flops = instance.Flops(benchmarkCase.Descriptor.WorkloadMethod.Name);
        return (flops / (stats.Mean * 1e-9) / 1e9).ToString("F1");
    }
}

/// <summary>A benchmark class that can say how many FLOPs one invocation of a method does.</summary>
public interface IFlops
{
    /// <summary>FLOPs of one call of the named benchmark method with the current parameters.</summary>
    double Flops(string method);
}

/// <summary>Config shared by the kernel benchmarks: memory diagnoser and the GFLOP/s column.</summary>
public sealed class KernelConfig : ManualConfig
{
    /// <summary>Adds the GFLOP/s column.</summary>
    public KernelConfig() => AddColumn(new GflopsColumn());
}

/// <summary>SGEMM 2048³ at 1 and 2 threads.</summary>
[MemoryDiagnoser, Config(typeof(KernelConfig))]
public class GemmBenchmarks : IFlops
{
    private GemmProblem? problem;

    /// <summary>Worker threads.</summary>
    [Params(1, 2)] public int Threads { get; set; }

    /// <summary>Allocates operands.</summary>
    [GlobalSetup] public void Setup() { problem = new GemmProblem(2048, 2048, 2048); VqVae.Tensors.Backend.Threads = Threads; }

    /// <summary>C = A·B, 2048³.</summary>
    [Benchmark] public void Sgemm2048() => problem!.Run();

    /// <inheritdoc/>
    public double Flops(string method) => 2.0 * 2048 * 2048 * 2048;
}

/// <summary>The reference model's six conv layers at batch 64, 2 threads: forward, input and weight gradients.</summary>
[MemoryDiagnoser, Config(typeof(KernelConfig))]
public class ConvBenchmarks : IFlops
{
    private ConvProblem? problem;

    /// <summary>Layer name (enc1…dec3).</summary>
    [ParamsSource(nameof(Layers))] public string Layer { get; set; } = "enc2";

    /// <summary>Layer names.</summary>
    public static IEnumerable<string> Layers => ConvLayers.All.Select(l => l.Name);

    private ConvLayer Current => ConvLayers.All.Single(l => l.Name == Layer);

    /// <summary>Allocates operands, 2 threads.</summary>
    [GlobalSetup] public void Setup() { problem = new ConvProblem(Current); VqVae.Tensors.Backend.Threads = 2; }

    /// <summary>y = conv(x, w) + b.</summary>
    [Benchmark] public void Forward() => problem!.Forward();
    /// <summary>dx.</summary>
    [Benchmark] public void BackwardInput() => problem!.BackwardInput();
    /// <summary>dw.</summary>
    [Benchmark] public void BackwardWeight() => problem!.BackwardWeight();

    /// <inheritdoc/>
    public double Flops(string method) => Current.Geometry.Flops;
}

/// <summary>Nearest-code search at the quantizer's size (n = 64·49, d = 64, k = 512), 2 threads.</summary>
[MemoryDiagnoser]
public class NearestCodeBenchmarks
{
    private NearestProblem? problem;

    /// <summary>Allocates operands.</summary>
    [GlobalSetup] public void Setup() { problem = new NearestProblem(64 * 49, 64, 512); VqVae.Tensors.Backend.Threads = 2; }

    /// <summary>One search.</summary>
    [Benchmark] public void Argmin() => problem!.Run();
}
