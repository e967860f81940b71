using System.Diagnostics;
using VqVae.Cli.Train;
using VqVae.Data.Images;
using VqVae.Functional.Prior;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae sample</c>: draw code grids from a prior and decode them with the model.</summary>
internal static class SampleCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var prior = Opt.Path("--prior", "Prior checkpoint (prior.safetensors from 'vqvae prior')", required: true);
        var count = Opt.Int("--count", "How many samples", 64);
        var temperature = Opt.Float("--temperature", "Divides the logits (below 1: sharper)", 1f, 0f, exclusiveMin: true, max: 100f);
        var topK = Opt.Int("--top-k", "Draw only from the k most likely codes (0: all)", 0, 0, Limits.MaxCodebook);
        var seed = Opt.Seed("Random seed of the draws", 0);
        var output = Opt.Path("--out", "PNG file to write", required: true);
        var threads = Opt.Threads();
        var cmd = new Command("sample", "Sample code grids from a prior and write the decoded images as one PNG")
        { model, prior, count, temperature, topK, seed, output, threads };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            if (ModelFile.IsVqVae2(r.GetValue(model)!))
                return HierarchicalPriorRun.Sample(r.GetValue(model)!, r.GetValue(prior)!,
                    new SamplingOptions(r.GetValue(temperature), r.GetValue(topK), r.GetValue(seed)), r.GetValue(count), r.GetValue(output)!, terminal);
            var m = ModelFile.Load(r.GetValue(model)!);
            var p = PriorArtifacts.LoadPrior(r.GetValue(prior)!).Prior;
            PriorArtifacts.CheckMatches(p, m);
            var path = r.GetValue(output)!;
            OutputPaths.EnsureFolderOf(path);
            var clock = Stopwatch.StartNew();
            var codes = PriorSampling.Sample(p, r.GetValue(count), new SamplingOptions(r.GetValue(temperature), r.GetValue(topK), r.GetValue(seed)));
            double seconds = clock.Elapsed.TotalSeconds;
            var picture = PriorArtifacts.SampleGrid(m, codes);
            OutputPaths.Writing("--out", () => ImageFile.WritePng(path, picture));
            terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {path}: {codes.Batch} samples ({codes.Values.Length} codes in {seconds:F2} s, {codes.Values.Length / Math.Max(seconds, 1e-9):F0} codes/s)"));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
