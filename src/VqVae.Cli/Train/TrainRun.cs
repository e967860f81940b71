using System.Diagnostics;
using System.Globalization;
using VqVae.Cli.Input;
using VqVae.Cli.Output;
using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Functional.Codebooks;
using VqVae.Data.Datasets;
using VqVae.Data.Images;
using VqVae.Functional.Optim;
using VqVae.Functional.Training;

namespace VqVae.Cli.Train;

/// <summary>
/// <c>vqvae train</c>: data → one <see cref="Trainer.Fit"/> call (optional pretraining and k-means
/// codebook, then Adam steps) → the files of DESIGN §7 (model.safetensors, metrics.csv,
/// reconstructions.png, codebook-usage.png) plus codebook-atlas.png and batch.safetensors (a batch
/// for <c>routes</c> and <c>gradients</c>).
/// </summary>
internal static class TrainRun
{
    /// <summary>Steps of the default run: enough for recognisable digits on the built-in data in a few minutes on 2 cores.</summary>
    public const int DefaultSteps = 600;

    public static int Execute(TrainSettings s, Terminal t)
    {
        var data = DataSource.Load(s.Data, s.Seed);
        if (data.Count < s.Batch)
            throw new UserError($"--batch: {s.Batch} is larger than the dataset ({data.Count} images)");
        var (model, cfg) = StartingModel(s, data);
        Inputs.CheckFits(cfg, Tensor.Zeros(1, data.Channels, data.Height, data.Width), s.Data, "--data");
        int perEpoch = Batches.PerEpoch(data.Count, s.Batch, dropLast: true);
        int steps = s.Epochs is { } e ? checked(e * perEpoch) : s.Steps ?? DefaultSteps;
        OutputPaths.EnsureFolder(s.Out);

        var rng = Rng.Seed(s.Seed);
        var batches = Batches.Stream(data, s.Batch, rng.Fold(1), dropLast: true)
            .Select(b => VqVaeModel.ToModelRange(cfg, Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width)));
        int window = Math.Min(steps, perEpoch);
        var rows = new List<string>(Math.Min(steps, 100_000));
        var plan = new TrainPlan(model, Adam.Create(s.LearningRate))
        {
            PretrainSteps = s.Pretrain, KMeansInit = s.KMeansInit, Rng = rng, OnPhase = p => t.Out.WriteLine(p + "…"),
        };
        string title = string.Create(CultureInfo.InvariantCulture,
            $"training {cfg.Preset} (h={cfg.Hidden}, K={cfg.CodebookSize}, D={cfg.CodeDim}, β={cfg.Beta}{(cfg.Quantizer == QuantizerKind.Ema ? ", EMA" : "")}) on {data.Count} images {data.Width}×{data.Height}, {steps} steps of {s.Batch}");
        var clock = Stopwatch.StartNew();
        TrainResult? run = null;
        TrainProgress.Run(t, title, steps, report =>
        {
            run = Trainer.Fit(plan, batches, new TrainOptions
            {
                Steps = steps,
                UsageWindow = window,
                OnStep = r =>
                {
                    if (!float.IsFinite(r.Metrics.Total))
                        throw new UserError($"the loss became {r.Metrics.Total} at step {r.Metrics.Step}; try a smaller --lr (now {s.LearningRate.ToString(CultureInfo.InvariantCulture)})");
                    rows.Add(MetricsCsv.Row(r));
                    report(r);
                },
            });
        });
        clock.Stop();
        var result = run!;
        model = result.Model;
        var last = result.Metrics[^1];

        var eval = Artifacts.EvalBatch(data, cfg, Math.Min(32, data.Count));
        ModelFile.Save(Path.Combine(s.Out, "model.safetensors"), model);
        MetricsCsv.Write(Path.Combine(s.Out, "metrics.csv"), rows);
        ImageFile.WritePng(Path.Combine(s.Out, "reconstructions.png"), Artifacts.Reconstructions(model, eval));
        ImageFile.WritePng(Path.Combine(s.Out, "codebook-usage.png"), Artifacts.Usage(result.Window, window));
        ImageFile.WritePng(Path.Combine(s.Out, "codebook-atlas.png"), Artifacts.Atlas(model, result.Window, data.Height / cfg.Downsampling, data.Width / cfg.Downsampling));
        VqVae.Functional.Checkpoints.BatchFile.Write(Path.Combine(s.Out, "batch.safetensors"), eval.Narrow(0, 0, Math.Min(16, eval.Shape[0])));

        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {steps} steps in {clock.Elapsed.TotalSeconds:F1} s; final total {last.Total:F4} (recon {last.Recon:F4}), perplexity {result.Window.Perplexity:F1}, {result.Window.Used}/{result.Window.Codes} codes used in the last {window} steps"));
        t.Out.WriteLine($"wrote {s.Out}/: model.safetensors, metrics.csv, reconstructions.png, codebook-usage.png, codebook-atlas.png, batch.safetensors");
        return ExitCodes.Ok;
    }

    // A fresh model from the preset and overrides, or the checkpoint to resume (its architecture wins).
    private static (VqVaeModel, VqVaeConfig) StartingModel(TrainSettings s, Dataset data)
    {
        if (s.Resume is { } path)
        {
            var m = ModelFile.Load(path, "--resume");
            if (s.Hidden is not null || s.Codebook is not null || s.Dim is not null)
                throw new UserError("--resume: the architecture comes from the checkpoint; drop --hidden, --codebook and --dim");
            var c = m.Config.With(beta: s.Beta);
            return (m with { Config = c }, c);
        }
        VqVaeConfig preset;
        try { preset = VqVaeConfig.ByName(s.Preset); }
        catch (ArgumentException) { throw new UserError($"--preset: unknown preset '{s.Preset}'; expected mnist, mnistSmall or paper"); }
        var cfg = preset.With(channels: data.Channels, hidden: s.Hidden, codebookSize: s.Codebook, codeDim: s.Dim, beta: s.Beta,
            quantizer: s.Ema ? QuantizerKind.Ema : null);
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new UserError(Errors.Message(e)); }
        return (VqVaeModel.Init(cfg, Rng.Seed(s.Seed)), cfg);
    }
}
