using System.Diagnostics;
using VqVae.Cli.Train;
using VqVae.Data.Images;
using VqVae.Functional.Prior;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae prior</c>: encode the data with a trained VQ-VAE, fit a Gated PixelCNN prior to the codes, evaluate and sample it.</summary>
internal static class PriorCommand
{
    public const int DefaultSteps = 1500;

    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var data = new Option<string>("--data") { Description = "Images to encode, as for train (default: the built-in MNIST); the prior trains on the training part and is judged on the held-out part", DefaultValueFactory = _ => DataSource.Default };
        var steps = Opt.Int("--steps", "Prior training steps", DefaultSteps, 1, Limits.MaxSteps);
        var batch = Opt.Int("--batch", "Code grids per step", 64);
        var lr = Opt.Float("--lr", "Adam learning rate", 1e-3f, 0f, exclusiveMin: true, max: Limits.MaxLearningRate);
        var channels = Opt.Int("--channels", "Channels of the prior's stacks", 32, 1, Limits.MaxChannels);
        var layers = Opt.Int("--layers", "Gated layers (the receptive field grows by one position per layer)", 8, 1, 64);
        var count = Opt.Int("--count", "Samples in samples.png", 64);
        var seed = Opt.Seed("Initialisation, shuffling, sampling and synthetic data", 0);
        var output = Opt.Path("--out", "Output folder", required: true);
        var threads = Opt.Threads();
        var cmd = new Command("prior", "Fit a Gated PixelCNN prior over a model's codes; writes prior.safetensors, metrics.csv, samples.png, eval.json")
        { model, data, steps, batch, lr, channels, layers, count, seed, output, threads };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            var modelPath = r.GetValue(model)!;
            if (ModelFile.IsVqVae2(modelPath))
                return HierarchicalPriorRun.Fit(new HierarchicalPriorRun.Settings(modelPath, r.GetValue(data)!,
                    new PriorFitOptions(r.GetValue(steps), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed)),
                    r.GetValue(channels), r.GetValue(layers), r.GetValue(count), r.GetValue(seed), r.GetValue(output)!), terminal);
            var m = ModelFile.Load(modelPath);
            var dataSpec = r.GetValue(data)!;
            var (trainX, heldX) = PriorArtifacts.Load(dataSpec, r.GetValue(seed));
            Inputs.CheckFits(m.Config, heldX, dataSpec, "--data");
            var dir = r.GetValue(output)!;
            OutputPaths.EnsureFolder(dir);

            var clock = Stopwatch.StartNew();
            var train = PriorFitting.EncodeAll(m, trainX);
            var held = PriorFitting.EncodeAll(m, heldX);
            terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"encoded {train.Batch} training and {held.Batch} held-out images to {train.Height}×{train.Width} grids of K = {m.Config.CodebookSize} codes ({clock.Elapsed.TotalSeconds:F1} s)"));

            var cfg = new PriorConfig(m.Config.CodebookSize, train.Height, train.Width, r.GetValue(channels), r.GetValue(layers), 3);
            var options = new PriorFitOptions(r.GetValue(steps), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed));
            var rows = new List<(int, double)>();
            int every = Math.Max(1, options.Steps / 20);
            clock.Restart();
            var prior = PriorFitting.Fit(PriorModel.Init(cfg, Rng.Seed(r.GetValue(seed))), train, options, (step, nats) =>
            {
                rows.Add((step, nats));
                if (step == 1 || step % every == 0 || step == options.Steps)
                    terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {step}  {nats / Math.Log(2):F3} bits/code  ({step * options.Batch / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} grids/s)"));
            });
            double fitSeconds = clock.Elapsed.TotalSeconds;

            var eval = PriorFitting.Evaluate(prior, train, held);
            PriorCheckpoint.Save(Path.Combine(dir, "prior.safetensors"), prior, PriorArtifacts.ModelIdentity(modelPath));
            PriorArtifacts.WriteMetrics(Path.Combine(dir, "metrics.csv"), rows);

            clock.Restart();
            var samples = PriorSampling.Sample(prior, r.GetValue(count), new SamplingOptions(Seed: r.GetValue(seed)));
            double sampleSeconds = clock.Elapsed.TotalSeconds;
            double codesPerSecond = samples.Values.Length / Math.Max(sampleSeconds, 1e-9);
            var picture = PriorArtifacts.SampleGrid(m, samples);
            OutputPaths.Writing("--out", () => ImageFile.WritePng(Path.Combine(dir, "samples.png"), picture));

            var json = JsonOut.Write(w =>
            {
                w.Number("nll_bits_per_code", eval.NllBitsPerCode);
                w.Number("uniform_bits_per_code", eval.UniformBitsPerCode);
                w.Number("unigram_bits_per_code", eval.UnigramBitsPerCode);
                w.WriteNumber("held_out_grids", held.Batch);
                w.WriteNumber("training_grids", train.Batch);
                w.WriteNumber("steps", options.Steps);
                w.Number("fit_seconds", fitSeconds);
                w.Number("sampling_codes_per_second", codesPerSecond);
            });
            AtomicFile.WriteAllBytes(Path.Combine(dir, "eval.json"), System.Text.Encoding.UTF8.GetBytes(json + "\n"));
            terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"held-out NLL {eval.NllBitsPerCode:F3} bits/code (uniform {eval.UniformBitsPerCode:F3}, unigram {eval.UnigramBitsPerCode:F3}); sampled {samples.Batch} grids at {codesPerSecond:F0} codes/s"));
            terminal.Out.WriteLine($"wrote {dir}/: prior.safetensors, metrics.csv, samples.png, eval.json");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
