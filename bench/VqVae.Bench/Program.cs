using BenchmarkDotNet.Running;

// BenchmarkDotNet: dotnet run -c Release --project bench/VqVae.Bench -- --job short --filter '*Gemm*'
// Quick figures:   dotnet run -c Release --project bench/VqVae.Bench -- quick [gemm|conv|nearest|kernel]
if (args.Length > 0 && args[0] == "quick")
    VqVae.Bench.Quick.Run(args[1..]);
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point holder for the benchmark switcher.</summary>
public partial class Program;
