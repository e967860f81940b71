using System.Globalization;
using Spectre.Console;
using VqVae.Functional.Training;

namespace VqVae.Cli.Output;

/// <summary>
/// Progress of a training run: a live Spectre bar with the loss terms, perplexity and images/s on a
/// terminal; otherwise (CI, pipes, tests) a plain line about every 5% of the run.
/// </summary>
internal static class TrainProgress
{
    public static void Run(Terminal t, string title, int total, Action<Action<StepMetrics, double>> work)
    {
        if (t.Interactive)
        {
            t.Console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(),
                         new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(title), maxValue: total);
                    work((m, ips) =>
                    {
                        task.Description = Markup.Escape(Compact(m, total, ips));
                        task.Value = m.Step;
                    });
                });
            return;
        }
        int every = Math.Max(1, total / 20);
        t.Out.WriteLine(title);
        work((m, ips) => { if (m.Step % every == 0 || m.Step == total || m.Step == 1) t.Out.WriteLine(Line(m, total, ips)); });
    }

    // For the live bar: the same numbers in fewer columns.
    private static string Compact(StepMetrics m, int total, double ips) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Step}/{total} total {m.Total:F4} recon {m.Recon:F4} cb {m.Codebook:F4} commit {m.Commitment:F4} ppl {m.Perplexity:F1} {ips:F0} img/s");

    public static string Line(StepMetrics m, int total, double ips) => string.Create(CultureInfo.InvariantCulture,
        $"step {m.Step}/{total}  total {m.Total:F4}  recon {m.Recon:F4}  codebook {m.Codebook:F4}  commit {m.Commitment:F4}  perplexity {m.Perplexity:F1}  used {m.UsedCodes}  {ips:F0} img/s");
}
