using Spectre.Console;
using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae routes</c>: the routing matrix (loss terms × parameter groups, ‖grad‖ or — where not reached).</summary>
internal static class RoutesCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = Opt.Model();
        var batch = Opt.BatchFile();
        var beta = Opt.CheckpointBeta();
        var threads = Opt.Threads();
        var device = Opt.Device();
        var cmd = new Command("routes", "Print which loss term reaches which parameter group, with gradient norms") { model, batch, beta, threads, device };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            using var onDevice = Settings.UseDevice(r.GetValue(device));
            var (m, x) = Inputs.ModelAndBatch(r.GetValue(model)!, r.GetValue(batch)!, r.GetValue(beta));
            var matrix = Routes.Matrix(m, x);
            Inputs.CheckFinite("the gradient norm of", r.GetValue(batch)!, matrix.Rows.SelectMany(row =>
                new[] { ($"{row.Term}/encoder", row.Encoder), ($"{row.Term}/codebook", row.Codebook), ($"{row.Term}/decoder", row.Decoder) }
                    .Where(c => c.Item2 is not null).Select(c => (c.Item1, c.Item2!.Value))));
            Render(terminal.Console, matrix, m.Config, x);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static void Render(IAnsiConsole console, RoutingMatrix matrix, VqVaeConfig cfg, VqVae.Tensors.Tensor x)
    {
        static string Cell(double? norm) => norm is { } v ? v.ToString("0.000e+00", CultureInfo.InvariantCulture) : "—";
        var table = new Table()
            .Title("‖grad‖ by loss term and parameter group")
            .Caption(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"β = {cfg.Beta}, batch [{string.Join(",", x.Shape)}]; — = not reached")))
            .AddColumns("term", "encoder", "codebook", "decoder");
        foreach (var c in table.Columns.Skip(1)) c.RightAligned();
        foreach (var row in matrix.Rows) table.AddRow(row.Term, Cell(row.Encoder), Cell(row.Codebook), Cell(row.Decoder));
        console.Write(table);
    }
}
