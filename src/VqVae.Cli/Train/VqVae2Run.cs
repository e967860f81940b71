using System.Diagnostics;
using VqVae.Data.Datasets;
using VqVae.Data.Images;
using VqVae.Functional.Hierarchical;
using VqVae.Functional.Model;
using VqVae.Functional.Optim;
using VqVae.Functional.Resources;
using VqVae.Functional.Runs;
using VqVae.Functional.Training;

namespace VqVae.Cli.Train;

/// <summary>
/// <c>vqvae train --preset vqvae2</c> (or <c>--resume</c> of a VQ-VAE-2 checkpoint): data → one
/// <see cref="Trainer.Run(IOptimizer, VqVae2Model, IEnumerable{Tensor}, TrainOptions, OptimizerState{VqVae2Model}?, Action{VqVae2StepMetrics}?)"/>
/// call → model.safetensors, metrics.csv (per level), eval.json (per level), reconstructions.png, manifest.json.
/// </summary>
internal static class VqVae2Run
{
    public static int Execute(TrainSettings s, Terminal t)
    {
        if (s.Pretrain > 0)
            throw new UserError("--preset vqvae2: --pretrain is for single-level models; drop it");
        var (data, heldOut) = DataSource.LoadSplit(s.Data, s.Seed);
        if (data.Count < s.Batch)
            throw new UserError($"--batch: {s.Batch} is larger than the dataset ({data.Count} images)");
        int perEpoch = Batches.PerEpoch(data.Count, s.Batch, dropLast: true);
        long planned = s.Epochs is { } e ? (long)e * perEpoch : s.Steps ?? TrainRun.DefaultSteps;
        if (planned > Limits.MaxSteps)
            throw new UserError(string.Create(CultureInfo.InvariantCulture, $"--epochs: {planned} steps; at most {Limits.MaxSteps}"));
        int steps = (int)planned;
        var model = StartingModel(s, data);
        var cfg = model.Config;
        var memory = CheckMemory(cfg, s);
        using var folder = OutputPaths.OpenRun(s.Out);
        var rng = Rng.Seed(s.Seed);
        var batches = Batches.Stream(data, s.Batch, rng.Fold(1), dropLast: true)
            .Select(b => Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width));
        var (bh, bw, th, tw) = VqVae2Config.GridsFor(data.Height, data.Width);
        string[] title =
        [
            string.Create(CultureInfo.InvariantCulture,
                $"training vqvae2 (h={cfg.Hidden}, K_t={cfg.TopCodebookSize}, K_b={cfg.BottomCodebookSize}, D={cfg.CodeDim}, β={cfg.Beta}{(cfg.Quantizer == QuantizerKind.Ema ? ", EMA" : "")}): {steps} steps of {s.Batch}"),
            string.Create(CultureInfo.InvariantCulture,
                $"data: {DataSource.Describe(s.Data)}, {data.Count} images {data.Width}×{data.Height} (padded to {VqVae2Config.PaddedSide(data.Width)}×{VqVae2Config.PaddedSide(data.Height)}): top codes {tw}×{th}, bottom {bw}×{bh}; weights and optimizer {MemoryPlan.Gb(memory)}"),
        ];
        var rows = new List<string>(Math.Min(steps, 100_000));
        int window = Math.Min(steps, perEpoch);
        var clock = Stopwatch.StartNew();
        VqVae2TrainResult? run = null;
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, ev) => { if (interrupt.IsCancellationRequested) return; ev.Cancel = true; interrupt.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            TrainProgress.Run(t, title, steps, report =>
            {
                double imagesPerSecond = 0;
                run = Trainer.Run(Adam.Create(s.LearningRate), model, batches, new TrainOptions
                {
                    Steps = steps,
                    UsageWindow = window,
                    DeadCodes = s.DeadCodes,
                    Rng = rng.Fold(3),
                    OnStep = r => { imagesPerSecond = r.ImagesPerSecond; report(r); },
                    OnWarning = w => t.Err.WriteLine($"vqvae train: warning: {w.Message}"),
                    Cancellation = interrupt.Token,
                }, onStep: m => rows.Add(VqVae2MetricsCsv.Row(m, imagesPerSecond)));
            });
        }
        finally { Console.CancelKeyPress -= onCtrlC; }
        clock.Stop();
        var result = run!;
        if (result.Divergence is { } d)
            throw new UserError($"{d.Message} (now --lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}); no model was written");
        if (result.Metrics.Length == 0)
            throw new UserError("stopped by Ctrl-C before the first step; nothing was written");
        model = result.Model;
        var last = result.Metrics[^1];
        var report2 = Commands.EvalCommand.RunVqVae2(model, heldOut, 250);
        var eval = Artifacts.EvalBatch(heldOut, Math.Min(32, heldOut.Count));
        string[] files = ["model.safetensors", "metrics.csv", "eval.json", "reconstructions.png"];
        OutputPaths.Writing("--out", () =>
        {
            ModelFile.Save(folder.PathOf("model.safetensors"), model);
            VqVae2MetricsCsv.Write(folder.PathOf("metrics.csv"), rows);
            AtomicFile.Write(folder.PathOf("eval.json"), f => f.Write(System.Text.Encoding.UTF8.GetBytes(Commands.EvalCommand.Json(report2) + "\n")));
            ImageFile.WritePng(folder.PathOf("reconstructions.png"), Artifacts.Reconstructions(model, eval));
            folder.Complete(files);
        });
        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {result.Metrics.Length} steps in {clock.Elapsed.TotalSeconds:F1} s; final total {last.Total:F4} (recon {last.Recon:F4}); codes used in the last {window} steps: top {result.TopWindow.Used}/{result.TopWindow.Codes}, bottom {result.BottomWindow.Used}/{result.BottomWindow.Codes}{(s.DeadCodeRestart ? $", {result.RestartedCodes} dead-code restarts" : "")}"));
        t.Out.WriteLine(Commands.EvalCommand.Table(report2));
        t.Out.WriteLine($"wrote {s.Out}/: {string.Join(", ", files)}, {RunFolder.ManifestName}");
        if (result.Outcome == TrainOutcome.Cancelled)
        {
            t.Err.WriteLine($"vqvae train: stopped by Ctrl-C after step {last.Step} of {steps}; the model and pictures of that step are in {s.Out}/");
            return ExitCodes.Interrupted;
        }
        return ExitCodes.Ok;
    }

    // A fresh model from the preset and overrides (--codebook sets both levels' K), or the VQ-VAE-2 checkpoint to resume.
    private static VqVae2Model StartingModel(TrainSettings s, Dataset data)
    {
        if (s.Resume is { } path)
        {
            var m = ModelFile.LoadVqVae2(path, "--resume");
            return m with { Config = m.Config.With(beta: s.Beta) };
        }
        var cfg = VqVae2Config.ByName(s.Preset).With(channels: data.Channels, hidden: s.Hidden, topCodebookSize: s.Codebook,
            bottomCodebookSize: s.Codebook, codeDim: s.Dim, beta: s.Beta, quantizer: s.Ema ? QuantizerKind.Ema : null);
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new UserError(Errors.Message(e)); }
        return VqVae2Model.Init(cfg, Rng.Seed(s.Seed));
    }

    // Weights, gradients and Adam's two moments (16 bytes a value); activations are not planned for VQ-VAE-2 yet.
    private static long CheckMemory(VqVae2Config cfg, TrainSettings s)
    {
        double bytes = VqVae2Checkpoint.ParameterCount(cfg) * 16;
        long limit = s.MaxMemoryGb is { } gb ? (long)Math.Min(gb * 1e9, long.MaxValue / 2) : MemoryPlan.AvailableBytes();
        if (bytes > limit)
            throw new UserError($"train would need {MemoryPlan.Gb((long)Math.Min(bytes, long.MaxValue / 2))} for weights and optimizer state alone, more than the {MemoryPlan.Gb(limit)} "
                + (s.MaxMemoryGb is null ? "available now" : "of --max-memory") + "; use smaller sizes");
        return (long)bytes;
    }
}
