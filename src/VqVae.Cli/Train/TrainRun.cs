using System.Diagnostics;
using VqVae.Functional.Hierarchical;
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
using VqVae.Functional.Resources;
using VqVae.Functional.Runs;
using VqVae.Functional.Checkpoints;

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

    /// <summary>Steps between two checkpoints by default: at most a minute or so of work lost on a laptop.</summary>
    public const int DefaultCheckpointEvery = 100;

    public static int Execute(TrainSettings s, Terminal t)
    {
        // A two-level model has its own run (its own metrics and pictures), through the same Trainer.
        if (s.Resume is { } resumed ? ModelFile.IsVqVae2(resumed) : VqVae2Config.IsName(s.Preset))
            return VqVae2Run.Execute(s, t);
        var (data, heldOut) = DataSource.LoadSplit(s.Data, s.Seed);
        if (data.Count < s.Batch)
            throw new UserError($"--batch: {s.Batch} is larger than the dataset ({data.Count} images)");
        int perEpoch = Batches.PerEpoch(data.Count, s.Batch, dropLast: true);
        long plannedSteps = s.Epochs is { } e ? (long)e * perEpoch : s.Steps ?? DefaultSteps;
        if (plannedSteps > Limits.MaxSteps)
            throw new UserError(string.Create(CultureInfo.InvariantCulture,
                $"--epochs: {s.Epochs} epochs of {perEpoch} batches of {s.Batch} make {plannedSteps} steps; at most {Limits.MaxSteps} (use --steps, or a larger --batch)"));
        int steps = (int)plannedSteps;
        var adam = Adam.Create(s.LearningRate);
        // A resumed run continues the optimizer, the step count and the data order where the checkpoint left them.
        var resume = s.Resume is { } resumePath ? Resumed(resumePath, adam, s, t) : null;
        int start = resume?.Step ?? 0;
        if (start > steps)
            throw new UserError(string.Create(CultureInfo.InvariantCulture,
                $"--resume: the checkpoint is at step {start} and --steps/--epochs count the whole run ({steps} steps); ask for at least {start}"));
        // A run killed after its last checkpoint but before its pictures: resuming it writes what is missing.
        bool finishing = resume?.Optimizer is not null && start == steps;
        if (resume?.Optimizer is not null && s.Pretrain > 0)
            throw new UserError($"--resume: the checkpoint continues a run at step {start}; drop --pretrain (it starts a run)");
        var rows = new List<string>(Math.Min(steps, 100_000));
        if (resume?.Optimizer is not null)
            rows.AddRange(MetricsCsv.ReadRows(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(resume.ModelPath))!, "metrics.csv"), start));
        MemoryPlan? memory = null;
        var (model, cfg) = StartingModel(s, resume?.Model, c => memory = ResourcePlan.CheckTraining(c, s.Batch, data.Height, data.Width, s.MaxMemoryGb, "train"), data);
        Inputs.CheckFits(cfg, Tensor.Zeros(1, data.Channels, data.Height, data.Width), s.Data, "--data");
        // The folder is this run's from here to the manifest: locked, stale temporaries gone, marked "writing".
        using var folder = OutputPaths.OpenRun(s.Out);

        var rng = Rng.Seed(s.Seed);
        var batches = Batches.StreamFrom(data, s.Batch, rng.Fold(1), dropLast: true, position: start)
            .Select(b => Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width));
        int window = Math.Min(steps, perEpoch);
        var plan = new TrainPlan(model, adam)
        {
            State = resume?.Optimizer?.State,
            PretrainSteps = s.Pretrain, KMeansInit = KMeansApplies(s, cfg, data, t), Rng = rng, OnPhase = p => t.Out.WriteLine(p + "…"),
        };
        int? checkpointed = null;
        void SaveCheckpoint(TrainSnapshot snap) => OutputPaths.Writing("--out", () =>
        {
            MetricsCsv.Write(folder.PathOf("metrics.csv"), rows);
            TrainingCheckpoint.Save(folder.Path, adam, snap, folder.RunId, RunSettings(s));
            folder.Checkpoint([TrainingCheckpoint.ModelFileName, TrainingCheckpoint.OptimizerFileName, "metrics.csv"], snap.Step);
            checkpointed = snap.Step;
        });
        string[] title =
        [
            string.Create(CultureInfo.InvariantCulture,
                $"training {cfg.Preset} (h={cfg.Hidden}, K={cfg.CodebookSize}, D={cfg.CodeDim}, β={cfg.Beta}{(cfg.Quantizer == QuantizerKind.Ema ? ", EMA" : "")}): {steps} steps of {s.Batch}{(start > 0 ? $", resuming after step {start}" : "")}"),
            string.Create(CultureInfo.InvariantCulture,
                $"data: {DataSource.Describe(s.Data)}, {data.Count} images {data.Width}×{data.Height}, {(data.Channels == 1 ? "1 channel (grey)" : $"{data.Channels} channels (colour)")}; memory plan {MemoryPlan.Gb(memory!.Bytes)}"),
        ];
        var clock = Stopwatch.StartNew();
        TrainResult? run = null;
        // Ctrl-C stops after the current step and the run is written as if it had ended there; a
        // second Ctrl-C ends the process at once.
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            if (interrupt.IsCancellationRequested) return;
            e.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
        TrainProgress.Run(t, title, steps - start, report =>
        {
            run = Trainer.Fit(plan, batches, new TrainOptions
            {
                Steps = steps - start,
                UsageWindow = window,
                Window = resume?.Optimizer?.Window.Select(r => (IReadOnlyList<long>)r).ToList(),
                CheckpointEvery = s.CheckpointEvery,
                OnCheckpoint = SaveCheckpoint,
                DeadCodes = s.DeadCodes,
                Rng = rng.Fold(3),
                OnStep = r =>
                {
                    rows.Add(MetricsCsv.Row(r));
                    report(r);
                },
                OnWarning = w => t.Err.WriteLine($"vqvae train: warning: {w.Message}"),
                Cancellation = interrupt.Token,
            });
        });
        }
        finally { Console.CancelKeyPress -= onCtrlC; }
        clock.Stop();
        var result = run!;
        // A diverged run leaves no model behind that a later run could take for a good one.
        if (result.Divergence is { } d)
            throw new UserError($"{d.Message} (now --lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}); "
                + (checkpointed is { } c ? $"the last checkpoint, step {c}, is in {s.Out}/" : "this run wrote no checkpoint"));
        if (result.Metrics.Length == 0 && !finishing)
            throw new UserError("stopped by Ctrl-C before the first step; nothing was written");
        model = result.Model;
        if (finishing)
            SaveCheckpoint(new TrainSnapshot(start, model, result.State) { Window = resume!.Optimizer!.Window });
        var last = result.Metrics.Length > 0 ? result.Metrics[^1] : null;

        var eval = Artifacts.EvalBatch(heldOut, Math.Min(32, heldOut.Count)); // held-out images: what the model never saw
        // The held-out figures (images training never saw), on screen and in eval.json.
        var report = Commands.EvalCommand.Run(model, heldOut, 250);
        string[] files = [TrainingCheckpoint.ModelFileName, TrainingCheckpoint.OptimizerFileName, "metrics.csv", "eval.json", "reconstructions.png", "codebook-usage.png", "codebook-atlas.png", "curves.png", "codebook-pca.png", "batch.safetensors"];
        OutputPaths.Writing("--out", () =>
        {
            // The model and optimizer state of the last step are written by the trainer's last checkpoint (also when stopped by Ctrl-C).
            MetricsCsv.Write(folder.PathOf("metrics.csv"), rows);
            AtomicFile.Write(folder.PathOf("eval.json"), f => f.Write(System.Text.Encoding.UTF8.GetBytes(Commands.EvalCommand.Json(report) + "\n")));
            ImageFile.WritePng(folder.PathOf("reconstructions.png"), Artifacts.Reconstructions(model, eval));
            ImageFile.WritePng(folder.PathOf("codebook-usage.png"), Artifacts.Usage(result.Window, window));
            ImageFile.WritePng(folder.PathOf("codebook-atlas.png"), Artifacts.Atlas(model, result.Window, data.Height / cfg.Downsampling, data.Width / cfg.Downsampling));
            ImageFile.WritePng(folder.PathOf("curves.png"), Artifacts.Curves(folder.PathOf("metrics.csv"), cfg.CodebookSize)); // from the file just written
            ImageFile.WritePng(folder.PathOf("codebook-pca.png"), Artifacts.CodebookPca(model, result.Window, window));
            VqVae.Functional.Checkpoints.BatchFile.Write(folder.PathOf("batch.safetensors"), eval.Narrow(0, 0, Math.Min(16, eval.Shape[0])));
            folder.Complete(files); // last: the set is complete only once the manifest says so
        });

        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {result.Metrics.Length} steps in {clock.Elapsed.TotalSeconds:F1} s{(last is null ? "" : $"; final total {last.Total:F4} (recon {last.Recon:F4})")}, perplexity {result.Window.Perplexity:F1}, {result.Window.Used}/{result.Window.Codes} codes used in the last {window} steps{(s.DeadCodeRestart ? $", {result.RestartedCodes} dead-code restarts" : "")}"));
        t.Out.WriteLine(Commands.EvalCommand.Table(report));
        t.Out.WriteLine($"wrote {s.Out}/: {string.Join(", ", files)}, {RunFolder.ManifestName}");
        if (result.Outcome == TrainOutcome.Cancelled)
        {
            t.Err.WriteLine($"vqvae train: stopped by Ctrl-C after step {last!.Step} of {steps}; the checkpoint and pictures of that step are in {s.Out}/ (continue with --resume {Path.Combine(s.Out, TrainingCheckpoint.ModelFileName)})");
            return ExitCodes.Interrupted;
        }
        return ExitCodes.Ok;
    }

    // k-means seeds a fresh run only (a resumed or loaded model keeps its codes), and needs at least K encoder
    // rows from an epoch of batches (CodebookOps.KMeansInit takes batches until it holds 4·K): with fewer, the
    // run starts from the preset's codebook and says so.
    private static bool KMeansApplies(TrainSettings s, VqVaeConfig cfg, Dataset data, Terminal t)
    {
        if (!s.KMeansInit || s.Resume is not null) return false;
        long rows = (long)Batches.PerEpoch(data.Count, s.Batch, dropLast: true) * s.Batch
            * (data.Height / cfg.Downsampling) * (data.Width / cfg.Downsampling);
        if (rows >= cfg.CodebookSize) return true;
        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"k-means initialisation skipped: an epoch gives {rows} encoder rows for {cfg.CodebookSize} codes (--no-kmeans-init silences this)"));
        return false;
    }

    /// <summary>Whether <paramref name="name"/> names a preset the command offers.</summary>
    public static bool IsPreset(string name)
    {
        if (VqVae2Config.IsName(name)) return true;
        try { VqVaeConfig.ByName(name); return true; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>The settings that decide the data order, recorded in the optimizer file so a resumed run can say when they differ.</summary>
    private static Dictionary<string, string> RunSettings(TrainSettings s) => new()
    {
        ["data"] = s.Data,
        ["seed"] = s.Seed.ToString(CultureInfo.InvariantCulture),
        ["batch"] = s.Batch.ToString(CultureInfo.InvariantCulture),
    };

    // The checkpoint to resume: the model, and its optimizer state when one is beside it.
    private static ResumePoint Resumed(string path, Adam adam, TrainSettings s, Terminal t)
    {
        if (!File.Exists(path)) throw new UserError($"--resume: no such file: {path}");
        ResumePoint point;
        try { point = TrainingCheckpoint.Load(path, adam); }
        catch (CheckpointException e) { throw new UserError($"--resume: {e.Message}"); }
        if (point.Optimizer is not { } saved)
        {
            // A plain model: its folder's manifest must vouch for it. (A model with its optimizer state is a
            // checkpoint whose two files were checked against each other; a killed run leaves such pairs.)
            try { RunFolder.Verify(path); }
            catch (RunFolderException e) { throw new UserError($"--resume: {e.Message}"); }
            t.Err.WriteLine($"vqvae train: note: no optimizer state beside {path}; Adam starts afresh at step 0");
            return point;
        }
        var differ = RunSettings(s).Where(kv => saved.Metadata.TryGetValue(kv.Key, out var v) && v != kv.Value)
            .Select(kv => $"--{kv.Key} {saved.Metadata[kv.Key]} (now {kv.Value})").ToList();
        if (differ.Count > 0)
            t.Err.WriteLine($"vqvae train: note: the checkpoint was trained with {string.Join(", ", differ)}; the data order differs from the run it continues");
        return point;
    }

    // A fresh model from the preset and overrides, or the checkpoint to resume (its architecture wins).
    private static (VqVaeModel, VqVaeConfig) StartingModel(TrainSettings s, VqVaeModel? resumed, Action<VqVaeConfig> plan, Dataset data)
    {
        if (resumed is { } m)
        {
            plan(m.Config);
            // The checkpoint decides the architecture: an option that agrees with it is accepted (the interrupted
            // run's own command line plus --resume continues it), one that would change it is refused, not ignored.
            var k = m.Config;
            void Agree(string option, object? given, object actual)
            {
                if (given is not null && !given.Equals(actual))
                    throw new UserError($"--resume: the checkpoint's {option[2..]} is {actual}, but {option} says {given}; the architecture comes from the checkpoint (drop {option})");
            }
            Agree("--hidden", s.Hidden, k.Hidden);
            Agree("--codebook", s.Codebook, k.CodebookSize);
            Agree("--dim", s.Dim, k.CodeDim);
            Agree("--preset", s.Given.Contains("--preset") && IsPreset(s.Preset) ? VqVaeConfig.ByName(s.Preset).Preset : null, k.Preset);
            if (s.Ema && k.Quantizer != QuantizerKind.Ema)
                throw new UserError("--resume: the checkpoint's codebook is learned by gradients, but --ema asks for moving averages; the quantizer comes from the checkpoint (drop --ema)");
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
        plan(cfg); // before Init: a model too large for the machine is refused, not allocated
        return (VqVaeModel.Init(cfg, Rng.Seed(s.Seed)), cfg);
    }
}
