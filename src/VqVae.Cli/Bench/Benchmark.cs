using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Functional.Optim;
using VqVae.Functional.Training;
using VqVae.Tensors.Diagnostics;

namespace VqVae.Cli.Bench;

/// <summary>What <c>vqvae bench</c> measured.</summary>
internal sealed record BenchResult(int Batch, int Threads, Timing TrainStep, Timing Inference, Timing Quantize, Flops Flops,
    IReadOnlyList<(string Name, Timing Time)> Profile)
{
    /// <summary>The CPU backend's ISA level the kernels ran (VQVAE_ISA or the best this CPU supports).</summary>
    public VqVae.Tensors.Backends.Cpu.IsaLevel Isa { get; init; } = VqVae.Tensors.Backends.Cpu.CpuIsa.Level;

    /// <summary>Per-op costs of profiled train steps, per step (wall ms, CPU ms, bytes), most expensive first.</summary>
    public IReadOnlyList<OpTiming> Ops { get; init; } = [];
}

/// <summary>
/// The reference step of DESIGN §9, timed like ../shared/bench/torch_vqvae_bench.py: the library's
/// <see cref="TrainStep.Apply"/> with Adam on uniform random 28×28 batches, inference (encode + quantize + decode, no tape) and
/// quantize-only (nearest code of [B·49, D] rows among K codes).
/// </summary>
internal static class Benchmark
{
    public static BenchResult Run(int batch, int steps, int warmup, bool profile, Action<string> say)
    {
        var cfg = VqVaeConfig.Mnist;
        var (kModel, kData) = Rng.Seed(0).Split();
        var model = VqVaeModel.Init(cfg, kModel);
        var data = Enumerable.Range(0, 4).Select(i => Tensor.Uniform(kData.Fold(i), 0f, 1f, batch, 1, 28, 28)).ToArray();
        int next = 0;
        Tensor NextX() => data[next++ % data.Length];

        var adam = Adam.Create(1e-3f);
        var state = adam.Init(model);
        say("timing the train step");
        // The library's one train step (its own arena recycles forward and backward storage).
        var train = Timing.Measure(() => (model, state, _) = TrainStep.Apply(adam, model, state, NextX()), steps, warmup);

        say("timing inference");
        var infer = Timing.Measure(() =>
        {
            using var arena = TensorArena.Begin();
            VqVaeModel.Reconstruct(model, NextX());
        }, steps, warmup);

        say("timing quantize-only");
        var rows = Tensor.Normal(Rng.Seed(1), 0f, 1f, batch * 49, cfg.CodeDim);
        var codebook = model.Codebook.Embedding;
        var quant = Timing.Measure(() => rows.NearestRows(codebook), 5 * steps, warmup);

        var parts = profile ? Profile(cfg, model, adam, state, data[0], steps, warmup, say) : [];
        IReadOnlyList<OpTiming> ops = [];
        if (profile)
        {
            say("per-op profile of train steps");
            int n = Math.Max(3, steps / 2);
            OpProfiler.Reset();
            OpProfiler.Enabled = true;
            try
            {
                for (int i = 0; i < n; i++) (model, state, _) = TrainStep.Apply(adam, model, state, NextX());
            }
            finally { OpProfiler.Enabled = false; }
            ops = OpProfiler.Snapshot().Select(t => t with { Calls = t.Calls / n, WallMs = t.WallMs / n, CpuMs = t.CpuMs / n, AllocatedBytes = t.AllocatedBytes / n }).ToArray();
        }
        return new BenchResult(batch, VqVae.Tensors.Backend.Threads, train, infer, quant, Flops.Reference(cfg, batch), parts) { Ops = ops };
    }

    // Per-layer forward times and the phases of one train step.
    private static List<(string, Timing)> Profile(VqVaeConfig cfg, VqVaeModel model, Adam adam, AdamState<VqVaeModel> state,
        Tensor x, int steps, int warmup, Action<string> say)
    {
        say("profiling");
        int n = Math.Max(3, steps / 2);
        var result = new List<(string, Timing)>();
        var h = x;
        foreach (var (layer, i) in model.Encoder.Layers.Layers.Select((l, i) => (l, i)))
        {
            var input = h;
            result.Add(($"forward encoder.{i} {layer.GetType().Name}", InArena(() => layer.Apply(input), n, 1)));
            h = layer.Apply(input);
        }
        var ze = h;
        result.Add(("forward quantize", InArena(() => VqVaeModel.Quantize(model, ze), n, 1)));
        h = VqVaeModel.Quantize(model, ze).DecoderInput;
        foreach (var (layer, i) in model.Decoder.Layers.Layers.Select((l, i) => (l, i)))
        {
            var input = h;
            result.Add(($"forward decoder.{i} {layer.GetType().Name}", InArena(() => layer.Apply(input), n, 1)));
            h = layer.Apply(input);
        }
        result.Add(("step: forward + loss (no tape)", InArena(() => VqVaeModel.LossTerms(model, x), n, warmup)));
        Gradients<VqVaeModel> Grads() => Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Total, model).Gradients;
        result.Add(("step: forward + backward", InArena(() => Grads(), n, warmup)));
        var grads = Grads();
        result.Add(("step: Adam update", Timing.Measure(() => adam.Update(grads, state, model), n, warmup)));
        return result;
    }

    // Timed like the train step: each call's tensors live in a per-call arena, as a training loop's would.
    private static Timing InArena(Action body, int n, int warmup) => Timing.Measure(() =>
    {
        using var arena = TensorArena.Begin();
        body();
    }, n, warmup);
}
