using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;

namespace VqVae.Cli.Commands;

/// <summary>
/// <c>vqvae gradients</c>: <see cref="GradientsFile.Write"/> (DESIGN §6: a key per term and parameter
/// it reaches) and the loss terms as JSON.
/// </summary>
internal static class GradientsCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var batch = Opt.BatchFile();
        var beta = Opt.CheckpointBeta();
        var output = Opt.Path("--out", "Gradients file to write (safetensors)", required: true);
        var threads = Opt.Threads();
        var device = Opt.Device();
        var cmd = new Command("gradients", "Write each loss term's gradients per parameter; print the loss terms as JSON") { model, batch, beta, output, threads, device };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            using var onDevice = Settings.UseDevice(r.GetValue(device));
            var (m, x) = Inputs.ModelAndBatch(r.GetValue(model)!, r.GetValue(batch)!, r.GetValue(beta));
            var (entries, terms) = GradientsFile.Compute(m, x);
            Inputs.CheckFinite("the gradient", r.GetValue(batch)!, entries.Select(e => (e.Name, (double)MaxAbs(e.Data))));
            var path = r.GetValue(output)!;
            OutputPaths.EnsureFolderOf(path);
            OutputPaths.Writing("--out", () => SafeTensors.Write(path, entries));
            var (recon, codebook, commitment, total) = terms!.Values;
            terminal.Out.WriteLine(JsonOut.Write(w =>
            {
                w.Number("recon", recon); w.Number("codebook", codebook); w.Number("commitment", commitment); w.Number("total", total);
                w.Number("perplexity", terms.Perplexity);
                w.Number("beta", m.Config.Beta);
            }));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // NaN if any value is NaN, ∞ if any is infinite: one number that is finite exactly when all are.
    private static float MaxAbs(float[] values)
    {
        float m = 0;
        foreach (var v in values) { if (float.IsNaN(v)) return v; m = Math.Max(m, Math.Abs(v)); }
        return m;
    }
}
