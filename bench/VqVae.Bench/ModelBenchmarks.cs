using BenchmarkDotNet.Attributes;
using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Functional.Optim;
using VqVae.Tensors;
using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Bench;

/// <summary>
/// The reference step of DESIGN §9 (mnist model, batch 64, Adam) like <c>vqvae bench</c> and
/// ../shared/bench/torch_vqvae_bench.py: train step (forward, backward, Adam, in a TensorArena),
/// inference (encode + quantize + decode, no tape) and quantize-only ([B·49, 64] rows against
/// 512 codes), at 1 and 2 threads, with allocated bytes per operation.
/// </summary>
/// <example><code>dotnet run -c Release --project bench/VqVae.Bench -- --filter '*ModelBenchmarks*'</code></example>
[MemoryDiagnoser, Config(typeof(KernelConfig))]
public class ModelBenchmarks : IFlops
{
    private const int Batch = 64;
    private readonly VqVaeConfig cfg = VqVaeConfig.Mnist;
    private VqVaeModel model = null!;
    private AdamState<VqVaeModel> state = null!;
    private Adam adam = null!;
    private Tensor[] data = [];
    private Tensor rows = null!;
    private int next;

    /// <summary>Worker threads.</summary>
    [Params(1, 2)] public int Threads { get; set; }

    /// <summary>Model, optimizer state and four random batches, as the bench verb makes them.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Backend.Threads = Threads;
        var (kModel, kData) = Rng.Seed(0).Split();
        model = VqVaeModel.Init(cfg, kModel);
        adam = Adam.Create(1e-3f);
        state = adam.Init(model);
        data = Enumerable.Range(0, 4).Select(i => Tensor.Uniform(kData.Fold(i), 0f, 1f, Batch, 1, 28, 28)).ToArray();
        rows = Tensor.Normal(Rng.Seed(1), 0f, 1f, Batch * 49, cfg.CodeDim);
    }

    private Tensor NextX() => data[next++ % data.Length];

    /// <summary>zero-grad, forward, loss, backward, Adam step.</summary>
    [Benchmark]
    public float TrainStep()
    {
        var x = NextX();
        using var arena = TensorArena.Begin();
        var (loss, grads) = Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Total, model);
        (model, state) = adam.Update(grads, state, model);
        return loss.ToScalar();
    }

    /// <summary>Encode, quantize, decode without a tape.</summary>
    [Benchmark]
    public float Inference()
    {
        using var arena = TensorArena.Begin();
        return VqVaeModel.Reconstruct(model, NextX())[0, 0, 0, 0];
    }

    /// <summary>Distances and argmin of [B·49, 64] rows against the 512 codes.</summary>
    [Benchmark]
    public int Quantize() => rows.NearestRows(model.Codebook.Embedding)[0];

    /// <inheritdoc/>
    public double Flops(string method)
    {
        // torch_vqvae_bench.py's count: forward MACs ×2; a train step ≈ 3 forwards.
        double conv(int cin, int cout, int k, int hout) => (double)cin * cout * k * k * hout * hout;
        double macs = conv(1, 128, 4, 14) + conv(128, 128, 4, 7) + conv(128, 64, 3, 7) + 49.0 * 64 * 512
            + conv(64, 128, 3, 7) + conv(128, 128, 4, 7) + conv(128, 1, 4, 14);
        double fwd = 2 * macs * Batch;
        return method switch { nameof(TrainStep) => 3 * fwd, nameof(Inference) => fwd, _ => 2.0 * Batch * 49 * 64 * 512 };
    }
}
