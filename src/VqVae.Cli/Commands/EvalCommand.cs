using VqVae.Cli.Train;
using VqVae.Data.Datasets;
using VqVae.Functional.Evaluation;
using VqVae.Functional.Hierarchical;
using VqVae.Functional.Model;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae eval</c>: a checkpoint's held-out figures (DESIGN §7), as a table or JSON.</summary>
internal static class EvalCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var data = new Option<string>("--data") { Description = "Images whose held-out part is evaluated: mnist, synthetic, mnist:DIR or images:DIR", DefaultValueFactory = _ => DataSource.Default };
        var seed = Opt.Seed("Seed of the synthetic digits", 0);
        var batch = Opt.Int("--batch", "Images per inference batch", 250);
        var json = new Option<bool>("--json") { Description = "Print only JSON: count, mse, mse_over_var, psnr, perplexity, codes_used, codebook_size" };
        var threads = Opt.Threads();
        var cmd = new Command("eval", "Held-out reconstruction MSE, MSE/variance, PSNR, perplexity and codes used") { model, data, seed, batch, json, threads };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            var heldOut = DataSource.HeldOut(r.GetValue(data)!, r.GetValue(seed));
            if (ModelFile.IsVqVae2(r.GetValue(model)!))
            {
                var m2 = ModelFile.LoadVqVae2(r.GetValue(model)!);
                if (heldOut.Channels != m2.Config.Channels)
                    throw new UserError($"--data: the images have {heldOut.Channels} channel(s), the model takes {m2.Config.Channels}");
                var r2 = RunVqVae2(m2, heldOut, r.GetValue(batch));
                terminal.Out.WriteLine(r.GetValue(json) ? Json(r2) : Table(r2));
                return ExitCodes.Ok;
            }
            var m = ModelFile.Load(r.GetValue(model)!);
            Inputs.CheckFits(m.Config, Tensor.Zeros(1, heldOut.Channels, heldOut.Height, heldOut.Width), r.GetValue(data)!, "--data");
            var report = Run(m, heldOut, r.GetValue(batch));
            terminal.Out.WriteLine(r.GetValue(json) ? Json(report) : Table(report));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The report of <paramref name="model"/> over every image of <paramref name="data"/>.</summary>
    public static EvalReport Run(VqVaeModel model, Dataset data, int batchSize)
    {
        if (batchSize < 1) throw new UserError($"--batch: expected at least 1, got {batchSize}");
        return Evaluator.Evaluate(model, Batches.Sequential(data, batchSize)
            .Select(b => Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width)));
    }

    /// <summary>The report of a VQ-VAE-2 over every image of <paramref name="data"/>.</summary>
    public static VqVae2EvalReport RunVqVae2(VqVae2Model model, Dataset data, int batchSize)
    {
        if (batchSize < 1) throw new UserError($"--batch: expected at least 1, got {batchSize}");
        return VqVae2Evaluation.Evaluate(model, Batches.Sequential(data, batchSize)
            .Select(b => Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width)));
    }

    /// <summary>A VQ-VAE-2's figures as one JSON object: the single-level keys for the image, and the code figures per level (<c>_top</c>, <c>_bottom</c>).</summary>
    public static string Json(VqVae2EvalReport e) => JsonOut.Write(w =>
    {
        w.WriteString("model", "vqvae2");
        w.WriteNumber("count", e.Count);
        w.Number("mse", e.Mse);
        w.Number("mse_over_var", e.MseOverVar);
        w.Number("psnr", e.Psnr);
        w.Number("perplexity_top", e.Top.Perplexity);
        w.WriteNumber("codes_used_top", e.Top.Used);
        w.WriteNumber("codebook_size_top", e.Top.Codes);
        w.Number("perplexity_bottom", e.Bottom.Perplexity);
        w.WriteNumber("codes_used_bottom", e.Bottom.Used);
        w.WriteNumber("codebook_size_bottom", e.Bottom.Codes);
    });

    /// <summary>A VQ-VAE-2's figures as a small table.</summary>
    public static string Table(VqVae2EvalReport e) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"""
        held-out images   {e.Count}
        MSE               {e.Mse:0.00000}
        MSE / variance    {e.MseOverVar:0.0000}
        PSNR              {e.Psnr:0.00} dB
        top perplexity    {e.Top.Perplexity:0.0}
        top codes used    {e.Top.Used} of {e.Top.Codes}
        bottom perplexity {e.Bottom.Perplexity:0.0}
        bottom codes used {e.Bottom.Used} of {e.Bottom.Codes}
        """);

    /// <summary>One JSON object with the keys of DESIGN §7's eval.</summary>
    public static string Json(EvalReport e) => JsonOut.Write(w =>
    {
        w.WriteNumber("count", e.Count);
        w.Number("mse", e.Mse);
        w.Number("mse_over_var", e.MseOverVar);
        w.Number("psnr", e.Psnr);
        w.Number("perplexity", e.Perplexity);
        w.WriteNumber("codes_used", e.CodesUsed);
        w.WriteNumber("codebook_size", e.CodebookSize);
    });

    /// <summary>The figures as a small table.</summary>
    public static string Table(EvalReport e) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"""
        held-out images   {e.Count}
        MSE               {e.Mse:0.00000}
        MSE / variance    {e.MseOverVar:0.0000}
        PSNR              {e.Psnr:0.00} dB
        perplexity        {e.Perplexity:0.0}
        codes used        {e.CodesUsed} of {e.CodebookSize}
        """);
}
