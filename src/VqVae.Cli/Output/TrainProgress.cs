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
    public static void Run(Terminal t, string title, int total, Action<Action<StepReport>> work)
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
                    int first = -1;
                    work(r =>
                    {
                        if (first < 0) first = r.Metrics.Step - 1;
                        task.Description = Markup.Escape(Compact(r, total));
                        task.Value = r.Metrics.Step - first;
                    });
                });
            return;
        }
        int every = Math.Max(1, total / 20), seen = 0;
        t.Out.WriteLine(title);
        work(r =>
        {
            seen++;
            if (seen % every == 0 || seen == total || seen == 1) t.Out.WriteLine(Line(r));
        });
    }

    // For the live bar: the same numbers in fewer columns.
    private static string Compact(StepReport r, int total)
    {
        var m = r.Metrics;
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.Step} total {m.Total:F4} recon {m.Recon:F4} ppl {r.Window.Perplexity:F1} codes {r.Window.Used}/{r.Window.Codes} {r.ImagesPerSecond:F0} img/s");
    }

    public static string Line(StepReport r)
    {
        var m = r.Metrics;
        return string.Create(CultureInfo.InvariantCulture,
            $"step {m.Step}  total {m.Total:F4}  recon {m.Recon:F4}  codebook {m.Codebook:F4}  commit {m.Commitment:F4}  window: perplexity {r.Window.Perplexity:F1}  used {r.Window.Used}/{r.Window.Codes}  {r.ImagesPerSecond:F0} img/s");
    }
}
