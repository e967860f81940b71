using VqVae.Cli.Train;
using VqVae.Functional.Training;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae train</c>: options → <see cref="TrainRun"/>.</summary>
internal static class TrainCommand
{
    public static Command Create(Terminal terminal)
    {
        var data = new Option<string>("--data") { Description = "Images: mnist (built-in 8,000 real digits; 2,000 more held out), synthetic, mnist:DIR (IDX files) or images:DIR (PNG/JPEG/WebP/BMP; png:DIR also works)", DefaultValueFactory = _ => DataSource.Default };
        var steps = Opt.MaybeInt("--steps", $"Training steps (default {TrainRun.DefaultSteps})", 1, Limits.MaxSteps);
        var epochs = Opt.MaybeInt("--epochs", "Passes over the data (instead of --steps)", 1, Limits.MaxEpochs);
        var batch = Opt.Int("--batch", "Images per step", 64);
        var lr = Opt.Float("--lr", "Adam learning rate", 1e-3f, 0f, exclusiveMin: true, max: Limits.MaxLearningRate);
        var codebook = Opt.MaybeInt("--codebook", "Number of codes K (default: the preset's, 512)", 1, Limits.MaxCodebook);
        var dim = Opt.MaybeInt("--dim", "Code dimension D (default: the preset's, 64)", 1, Limits.MaxChannels);
        var hidden = Opt.MaybeInt("--hidden", "Hidden channels h (default: the preset's, 128)", 1, Limits.MaxChannels);
        var beta = Opt.MaybeFloat("--beta", "Commitment weight β (default: the preset's, 0.25)", 0f, exclusiveMin: false, max: Limits.MaxBeta);
        var ema = Opt.Flag("--ema", "Learn the codebook by exponential moving averages instead of gradients");
        var seed = Opt.Seed("Random seed (initialisation, data, shuffling)", 0);
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "runs/latest", HelpName = "DIR" };
        var preset = new Option<string>("--preset") { Description = "Architecture: mnist (reference), mnistSmall, paper or vqvae2 (two levels; --codebook sets both levels' K)", DefaultValueFactory = _ => "mnist" };
        preset.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (v is not null && !TrainRun.IsPreset(v)) r.AddError($"--preset expects mnist, mnistSmall, paper or vqvae2, got '{v}'.");
        });
        var pretrain = Opt.Int("--pretrain", "Steps of autoencoder pretraining (codebook bypassed) before quantized training", 0, min: 0, max: Limits.MaxSteps);
        var noKMeans = Opt.Flag("--no-kmeans-init", "Keep the preset's initial codebook (by default a fresh run first sets the codes by k-means on encoder outputs of its first batch)");
        var noRestart = Opt.Flag("--no-dead-code-restart", "Keep rarely chosen codes where they are (by default, every 20 steps, codes chosen by fewer than --dead-code-share of an even share of the last epoch's rows are moved onto current encoder outputs)");
        var share = Opt.Float("--dead-code-share", "A code chosen by fewer than this fraction of an even share (rows / K) of the last epoch's rows is restarted; 0: only codes never chosen",
            (float)DeadCodePolicy.Default.MinShare, 0f, exclusiveMin: false, max: 0.99f);
        var resume = Opt.Path("--resume", "Continue from this checkpoint: the model, and with optimizer.safetensors beside it the optimizer state, step count and data position (--steps/--epochs count the whole run)", required: false);
        var checkpointEvery = Opt.Int("--checkpoint-every", $"Write model.safetensors and optimizer.safetensors every N steps (0: only at the end; default {TrainRun.DefaultCheckpointEvery})",
            TrainRun.DefaultCheckpointEvery, min: 0, max: Limits.MaxSteps);
        var threads = Opt.Threads();
        var device = Opt.Device();
        var maxMemory = Opt.MaxMemory();
        var cmd = new Command("train", "Train a VQ-VAE and write model.safetensors, metrics.csv, reconstructions.png, codebook-usage.png")
        {
            data, steps, epochs, batch, lr, codebook, dim, hidden, beta, ema, seed, output, preset, pretrain, noKMeans, noRestart, share, resume, checkpointEvery, threads, device, maxMemory,
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
                r.GetValue(output)!, r.GetValue(preset)!, r.GetValue(pretrain), !r.GetValue(noKMeans), r.GetValue(resume), r.GetValue(maxMemory), !r.GetValue(noRestart),
                r.GetValue(checkpointEvery))
            {
                // --resume compares these with the checkpoint (TrainRun.StartingModel).
                Given = new Option[] { preset, ema, codebook, dim, hidden }.Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToHashSet(),
                // Through decimal, so that 0.1f becomes the policy's 0.1, not 0.10000000149 (which would move the bound at exact multiples).
                DeadCodeShare = (double)(decimal)r.GetValue(share),
            };
            return TrainRun.Execute(s, terminal);
        });
        return cmd;
    }
}
