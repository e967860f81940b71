using System.CommandLine;
using VqVae.Cli.Input;
using VqVae.Cli.Output;
using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Tensors;

namespace VqVae.Cli.Commands;

/// <summary>
/// <c>vqvae gradients</c>: writes every loss term's gradients as <c>&lt;term&gt;/&lt;parameter&gt;</c>
/// (a key is absent exactly where the term does not reach the parameter, DESIGN §6) and prints the
/// loss terms as JSON.
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
            var (m, x, cfg) = Inputs.ModelAndBatch(r.GetValue(model)!, r.GetValue(batch)!, r.GetValue(beta));
            var entries = new List<SafeTensorEntry>();
            LossTerms? terms = null;
            foreach (var term in LossTerms.Names)
            {
                var (_, t, grads) = Grad.ValueAndGradWithAux(p => { var lt = VqVaeModel.LossTerms(cfg, p, x); return (lt.Term(term), lt); }, m);
                terms ??= t;
                foreach (var leaf in Tree.Leaves(grads))
                    if (leaf.Value is { } g) entries.Add(new SafeTensorEntry($"{term}/{leaf.Name}", g.Shape, g.ToArray()));
            }
            var path = r.GetValue(output)!;
            OutputPaths.EnsureFolderOf(path);
            SafeTensors.Write(path, entries);
            var (recon, codebook, commitment, total) = terms!.Values;
            terminal.Out.WriteLine(JsonOut.Write(w =>
            {
                w.Number("recon", recon); w.Number("codebook", codebook); w.Number("commitment", commitment); w.Number("total", total);
                w.Number("perplexity", terms.Perplexity);
                w.Number("beta", cfg.Beta);
            }));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
