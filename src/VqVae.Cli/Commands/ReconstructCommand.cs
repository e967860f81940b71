using VqVae.Cli.Train;
using VqVae.Data.Images;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae reconstruct</c>: originals above the model's reconstructions, as a PNG.</summary>
internal static class ReconstructCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var data = new Option<string>("--data") { Description = "Images (their held-out part): mnist, synthetic, mnist:DIR or images:DIR", DefaultValueFactory = _ => DataSource.Default };
        var count = Opt.Int("--count", "How many images", 32, 1, Limits.MaxCount);
        var seed = Opt.Seed("Seed of the synthetic digits", 1);
        var output = Opt.Path("--out", "PNG file to write", required: true);
        var threads = Opt.Threads();
        var device = Opt.Device();
        var cmd = new Command("reconstruct", "Write originals and their reconstructions as one PNG") { model, data, count, seed, output, threads, device };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            using var onDevice = Settings.UseDevice(r.GetValue(device));
            var images = DataSource.HeldOut(r.GetValue(data)!, r.GetValue(seed));
            var x = Artifacts.EvalBatch(images, Math.Min(r.GetValue(count), images.Count));
            Image picture;
            if (ModelFile.IsVqVae2(r.GetValue(model)!))
            {
                var m2 = ModelFile.LoadVqVae2(r.GetValue(model)!);
                if (images.Channels != m2.Config.Channels)
                    throw new UserError($"--data: the images have {images.Channels} channel(s), the model takes {m2.Config.Channels}");
                picture = Artifacts.Reconstructions(m2, x);
            }
            else
            {
                var m = ModelFile.Load(r.GetValue(model)!);
                Inputs.CheckFits(m.Config, x, r.GetValue(data)!, "--data");
                picture = Artifacts.Reconstructions(m, x);
            }
            var path = r.GetValue(output)!;
            OutputPaths.EnsureFolderOf(path);
            OutputPaths.Writing("--out", () => ImageFile.WritePng(path, picture));
            terminal.Out.WriteLine($"wrote {path}: {x.Shape[0]} originals (upper rows) and their reconstructions");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
