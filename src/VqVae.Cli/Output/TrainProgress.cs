using Spectre.Console;
using VqVae.Functional.Training;

namespace VqVae.Cli.Output;

/// <summary>
/// Progress of a training run. On a terminal at least <see cref="MinLiveWidth"/> columns wide: the
/// title lines, then one live line (description, bar, percentage, time left) that fits the width,
/// dropping the least important numbers first. Narrower terminals, pipes, CI and tests get plain
/// lines about every 5% of the run (the title first), which never depend on a width.
/// </summary>
internal static class TrainProgress
{
    /// <summary>Below this width the live line cannot show a bar and the numbers; plain lines are used.</summary>
    public const int MinLiveWidth = 60;

    // Bar, percentage and time left, with Spectre's one-space gaps between columns.
    private const int BarWidth = 12, FixedColumns = BarWidth + 1 + 4 + 1 + 8 + 2;

    public static void Run(Terminal t, IReadOnlyList<string> title, int total, Action<Action<StepReport>> work)
    {
        int width = t.Console.Profile.Width;
        if (t.Interactive && width >= MinLiveWidth)
        {
            foreach (var line in title) t.Console.WriteLine(Fit(line, width - 1));
            t.Console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth }, new PercentageColumn(),
                         new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(Pad($"step 0/{total}", width - FixedColumns)), maxValue: total);
                    int first = -1;
                    work(r =>
                    {
                        if (first < 0) first = r.Metrics.Step - 1;
                        task.Description = Markup.Escape(Pad(Compact(r, total, width - FixedColumns), width - FixedColumns));
                        task.Value = r.Metrics.Step - first;
                    });
                });
            return;
        }
        int every = Math.Max(1, total / 20), seen = 0;
        foreach (var line in title) t.Out.WriteLine(line);
        work(r =>
        {
            seen++;
            if (seen % every == 0 || seen == total || seen == 1) t.Out.WriteLine(Line(r));
        });
    }

    /// <summary>The live line's numbers, most important first, as many as fit in <paramref name="width"/> columns.</summary>
    public static string Compact(StepReport r, int total, int width)
    {
        var m = r.Metrics;
        string[] parts =
        [
            $"{m.Step}/{total}",
            F($"loss {m.Total:F4}"),
            F($"ppl {r.Window.Perplexity:F1}"),
            F($"codes {r.Window.Used}/{r.Window.Codes}"),
            F($"recon {m.Recon:F4}"),
            F($"{r.ImagesPerSecond:F0} img/s"),
        ];
        var s = parts[0];
        foreach (var p in parts.Skip(1))
        {
            if (s.Length + 1 + p.Length > width) break;
            s += " " + p;
        }
        return s.Length <= width ? s : s[..Math.Max(0, width)];
    }

    public static string Line(StepReport r)
    {
        var m = r.Metrics;
        return F($"step {m.Step}  total {m.Total:F4}  recon {m.Recon:F4}  codebook {m.Codebook:F4}  commit {m.Commitment:F4}  window: perplexity {r.Window.Perplexity:F1}  used {r.Window.Used}/{r.Window.Codes}  {r.ImagesPerSecond:F0} img/s");
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    // A fixed-width description keeps the bar from jumping as the numbers change length.
    private static string Pad(string s, int width) => s.Length >= width ? s : s.PadRight(width);

    private static string Fit(string s, int width) => s.Length <= width ? s : s[..Math.Max(1, width - 1)] + "…";
}
