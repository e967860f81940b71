using System.Diagnostics;
using System.Text;
using VqVae.Data.Images;
using VqVae.Functional.Checkpoints;
using VqVae.Functional.Hierarchical;
using VqVae.Functional.Prior;

namespace VqVae.Cli.Train;

/// <summary>
/// <c>vqvae prior</c> and <c>vqvae sample</c> for a VQ-VAE-2 checkpoint: encode both levels, fit the top prior and the
/// bottom prior conditioned on the top codes (<see cref="HierarchicalPriors"/>), evaluate, sample top then bottom, decode.
/// </summary>
internal static class HierarchicalPriorRun
{
    /// <summary>The settings of <c>vqvae prior</c>, after parsing.</summary>
    public sealed record Settings(string ModelPath, string Data, PriorFitOptions Options, int Channels, int Layers, int Count, int Seed, string Out);

    public static int Fit(Settings s, Terminal t)
    {
        var m = ModelFile.LoadVqVae2(s.ModelPath);
        var (trainX, heldX) = PriorArtifacts.Load(s.Data, s.Seed);
        if (trainX.Shape[1] != m.Config.Channels)
            throw new UserError($"--data: the images have {trainX.Shape[1]} channel(s), the model takes {m.Config.Channels}");
        OutputPaths.EnsureFolder(s.Out);
        var clock = Stopwatch.StartNew();
        var train = HierarchicalPriors.EncodeAll(m, trainX);
        var held = HierarchicalPriors.EncodeAll(m, heldX);
        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"encoded {train.Batch} training and {held.Batch} held-out images to {train.Top.Height}×{train.Top.Width} top (K = {m.Config.TopCodebookSize}) and {train.Bottom.Height}×{train.Bottom.Width} bottom (K = {m.Config.BottomCodebookSize}) grids ({clock.Elapsed.TotalSeconds:F1} s)"));
        int height = trainX.Shape[2], width = trainX.Shape[3];
        PriorConfig pt, pb;
        try { (pt, pb) = HierarchicalPriors.Configs(m.Config, height, width, s.Channels, s.Layers); }
        catch (ArgumentException e) { throw new UserError(Errors.Message(e)); }
        var rows = new List<string>();
        int every = Math.Max(1, s.Options.Steps / 10);
        clock.Restart();
        var prior = HierarchicalPriors.Fit(HierarchicalPriors.Init(m.Config, height, width, Rng.Seed(s.Seed), s.Channels, s.Layers), train, s.Options,
            (level, step, nats) =>
            {
                rows.Add(string.Create(CultureInfo.InvariantCulture, $"{level},{step},{nats:G6},{nats / Math.Log(2):G6}"));
                if (step == 1 || step % every == 0 || step == s.Options.Steps)
                    t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{level} step {step}  {nats / Math.Log(2):F3} bits/code"));
            });
        double fitSeconds = clock.Elapsed.TotalSeconds;
        var (et, eb) = HierarchicalPriors.Evaluate(prior, train, held);
        clock.Restart();
        var samples = HierarchicalPriors.Sample(prior, s.Count, new SamplingOptions(Seed: s.Seed));
        double sampleSeconds = clock.Elapsed.TotalSeconds;
        long codes = samples.Top.Values.Length + samples.Bottom.Values.Length;
        double codesPerSecond = codes / Math.Max(sampleSeconds, 1e-9);
        var picture = Grid(VqVae2Model.DecodeCodes(m, samples, height, width));
        int nt = train.Top.Height * train.Top.Width, nb = train.Bottom.Height * train.Bottom.Width;
        double Mix(double top, double bottom) => (nt * top + nb * bottom) / (nt + nb);
        var json = JsonOut.Write(w =>
        {
            w.WriteString("model", "vqvae2");
            w.Number("nll_bits_per_code", Mix(et.NllBitsPerCode, eb.NllBitsPerCode));
            w.Number("uniform_bits_per_code", Mix(et.UniformBitsPerCode, eb.UniformBitsPerCode));
            w.Number("unigram_bits_per_code", Mix(et.UnigramBitsPerCode, eb.UnigramBitsPerCode));
            w.Number("nll_bits_per_code_top", et.NllBitsPerCode);
            w.Number("uniform_bits_per_code_top", et.UniformBitsPerCode);
            w.Number("unigram_bits_per_code_top", et.UnigramBitsPerCode);
            w.Number("nll_bits_per_code_bottom", eb.NllBitsPerCode);
            w.Number("uniform_bits_per_code_bottom", eb.UniformBitsPerCode);
            w.Number("unigram_bits_per_code_bottom", eb.UnigramBitsPerCode);
            w.WriteNumber("held_out_grids", held.Batch);
            w.WriteNumber("training_grids", train.Batch);
            w.WriteNumber("steps", s.Options.Steps);
            w.Number("fit_seconds", fitSeconds);
            w.Number("sampling_codes_per_second", codesPerSecond);
        });
        OutputPaths.Writing("--out", () =>
        {
            HierarchicalPriorCheckpoint.Save(Path.Combine(s.Out, "prior.safetensors"), prior, PriorArtifacts.ModelIdentity(s.ModelPath), height, width);
            AtomicFile.WriteAllBytes(Path.Combine(s.Out, "metrics.csv"), Encoding.UTF8.GetBytes("level,step,nats_per_code,bits_per_code\n" + string.Concat(rows.Select(r => r + "\n"))));
            ImageFile.WritePng(Path.Combine(s.Out, "samples.png"), picture);
            AtomicFile.WriteAllBytes(Path.Combine(s.Out, "eval.json"), Encoding.UTF8.GetBytes(json + "\n"));
        });
        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"held-out NLL: top {et.NllBitsPerCode:F3} bits/code (uniform {et.UniformBitsPerCode:F3}, unigram {et.UnigramBitsPerCode:F3}), bottom given top {eb.NllBitsPerCode:F3} (uniform {eb.UniformBitsPerCode:F3}, unigram {eb.UnigramBitsPerCode:F3}); sampled {s.Count} images at {codesPerSecond:F0} codes/s"));
        t.Out.WriteLine($"wrote {s.Out}/: prior.safetensors (top and bottom priors), metrics.csv, samples.png, eval.json");
        return ExitCodes.Ok;
    }

    /// <summary><c>vqvae sample</c> for a VQ-VAE-2: top then bottom codes from a hierarchical prior, decoded at the size the priors were fitted for.</summary>
    public static int Sample(string modelPath, string priorPath, SamplingOptions options, int count, string output, Terminal t)
    {
        var m = ModelFile.LoadVqVae2(modelPath);
        if (!File.Exists(priorPath)) throw new UserError($"--prior: no such file: {priorPath}");
        LoadedHierarchicalPrior loaded;
        try { loaded = HierarchicalPriorCheckpoint.Load(priorPath); }
        catch (CheckpointException e) { throw new UserError($"--prior: {e.Message}"); }
        var p = loaded.Prior;
        if (p.Top.Config.CodebookSize != m.Config.TopCodebookSize || p.Bottom.Config.CodebookSize != m.Config.BottomCodebookSize)
            throw new UserError($"--prior: the priors model {p.Top.Config.CodebookSize} top and {p.Bottom.Config.CodebookSize} bottom codes, the model (--model) has {m.Config.TopCodebookSize} and {m.Config.BottomCodebookSize}");
        OutputPaths.EnsureFolderOf(output);
        var clock = Stopwatch.StartNew();
        var codes = HierarchicalPriors.Sample(p, count, options);
        double seconds = clock.Elapsed.TotalSeconds;
        var picture = Grid(VqVae2Model.DecodeCodes(m, codes, loaded.ImageHeight, loaded.ImageWidth));
        OutputPaths.Writing("--out", () => ImageFile.WritePng(output, picture));
        long n = codes.Top.Values.Length + codes.Bottom.Values.Length;
        t.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {output}: {count} samples ({n} codes in {seconds:F2} s, {n / Math.Max(seconds, 1e-9):F0} codes/s)"));
        return ExitCodes.Ok;
    }

    // Decoded images as a grid, 8 per row, each pixel drawn 2×2 (pixels clamped into [0, 1] by the picture).
    private static Image Grid(Tensor images)
    {
        var sh = images.Shape;
        return Pictures.Atlas(images.ToArray(), sh[0], sh[1], sh[2], sh[3], Math.Min(8, sh[0]), scale: 2);
    }
}
