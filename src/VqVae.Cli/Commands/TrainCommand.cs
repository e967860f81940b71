using System.CommandLine;
using VqVae.Cli.Input;
using VqVae.Cli.Output;
using VqVae.Cli.Train;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae train</c>: options → <see cref="TrainRun"/>.</summary>
internal static class TrainCommand
{
    public static Command Create(Terminal terminal)
    {
        var data = new Option<string>("--data") { Description = "Images: synthetic (built-in digits), mnist:DIR (IDX files) or images:DIR (png:DIR also works)", DefaultValueFactory = _ => "synthetic" };
        var steps = Opt.MaybeInt("--steps", $"Training steps (default {TrainRun.DefaultSteps})");
        var epochs = Opt.MaybeInt("--epochs", "Passes over the data (instead of --steps)");
        var batch = Opt.Int("--batch", "Images per step", 64);
        var lr = Opt.Float("--lr", "Adam learning rate", 1e-3f, 0f, exclusiveMin: true);
        var codebook = Opt.MaybeInt("--codebook", "Number of codes K (default: the preset's, 512)");
        var dim = Opt.MaybeInt("--dim", "Code dimension D (default: the preset's, 64)");
        var hidden = Opt.MaybeInt("--hidden", "Hidden channels h (default: the preset's, 128)");
        var beta = Opt.MaybeFloat("--beta", "Commitment weight β (default: the preset's, 0.25)", 0f, exclusiveMin: false);
        var ema = Opt.Flag("--ema", "Learn the codebook by exponential moving averages instead of gradients");
        var seed = new Option<int>("--seed") { Description = "Random seed (initialisation, data, shuffling)", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "runs/latest", HelpName = "DIR" };
        var preset = new Option<string>("--preset") { Description = "Architecture: mnist (reference), mnistSmall or paper", DefaultValueFactory = _ => "mnist" };
        var pretrain = Opt.Int("--pretrain", "Steps of autoencoder pretraining (codebook bypassed) before quantized training", 0, min: 0);
        var kmeans = Opt.Flag("--kmeans-init", "Initialise the codebook by k-means on encoder outputs");
        var resume = Opt.Path("--resume", "Continue from this checkpoint (architecture from the file; a fresh optimizer)", required: false);
        var threads = Opt.Threads();
        var device = Opt.Device();
        var cmd = new Command("train", "Train a VQ-VAE and write model.safetensors, metrics.csv, reconstructions.png, codebook-usage.png")
        {
            data, steps, epochs, batch, lr, codebook, dim, hidden, beta, ema, seed, output, preset, pretrain, kmeans, resume, threads, device,
        };
        cmd.Validators.Add(r =>
        {
            if (r.GetResult(steps) is not null && r.GetResult(epochs) is not null) r.AddError("give --steps or --epochs, not both.");
        });
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            using var onDevice = Settings.UseDevice(r.GetValue(device));
            var s = new TrainSettings(r.GetValue(data)!, r.GetValue(steps), r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr),
                r.GetValue(codebook), r.GetValue(dim), r.GetValue(hidden), r.GetValue(beta), r.GetValue(ema), r.GetValue(seed),
                r.GetValue(output)!, r.GetValue(preset)!, r.GetValue(pretrain), r.GetValue(kmeans), r.GetValue(resume));
            return TrainRun.Execute(s, terminal);
        });
        return cmd;
    }
}
