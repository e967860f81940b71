using VqVae.Cli.Train;
using VqVae.Data.Datasets;
using VqVae.Functional.Evaluation;
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
            var m = ModelFile.Load(r.GetValue(model)!);
            var heldOut = DataSource.HeldOut(r.GetValue(data)!, r.GetValue(seed));
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
