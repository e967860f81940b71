using System.Collections.Immutable;
using System.Globalization;
using VqVae.Functional.Codebooks;

namespace VqVae.Functional.Training;

/// <summary>
/// The trainer's watch over a run: divergence (a non-finite loss term, or a total above
/// <see cref="DivergenceGuard.Factor"/>× its running median, blamed on the term that rose most) and the two warnings, codebook collapse
/// (fewer than max(2, K/10) codes used over a full usage window) and saturated output (reconstructions
/// with a spread under 5% of the images' for 10 steps in a row). Mutable on purpose: it lives inside
/// the trainer's loop; each warning is issued once per run.
/// </summary>
internal sealed class HealthWatch(int codes, TrainOptions options)
{
    private static readonly string[] Terms = ["recon", "codebook", "commitment", "total"];
    private readonly Queue<float[]> history = new();
    private readonly HashSet<TrainWarningKind> warned = [];
    private readonly ImmutableArray<TrainWarning>.Builder issued = ImmutableArray.CreateBuilder<TrainWarning>();
    private int flatSteps;

    /// <summary>Saturated output: the reconstruction's spread under this share of the images' spread …</summary>
    public const double SaturationRatio = 0.05;
    /// <summary>… for this many steps in a row.</summary>
    public const int SaturationSteps = 10;

    public ImmutableArray<TrainWarning> Issued => issued.ToImmutable();

    /// <summary>The divergence this step's metrics show, if any; otherwise records them in the running history.</summary>
    public Divergence? Diverged(StepMetrics m)
    {
        if (options.Divergence is not { } guard) return null;
        float[] values = [m.Recon, m.Codebook, m.Commitment, m.Total];
        for (int t = 0; t < values.Length; t++)
            if (!float.IsFinite(values[t])) return new Divergence(m.Step, Terms[t], values[t], history.Count > 0 ? Median(t) : double.NaN);
        // The total decides (a term of 1e-10 that grows 100× is no divergence); the term named is the one
        // whose rise above its own median explains most of the jump.
        if (history.Count >= guard.MinSteps && Median(3) > 0 && values[3] > guard.Factor * Median(3))
        {
            int worst = 3; double rise = double.NegativeInfinity;
            for (int t = 0; t < 3; t++)
                if (values[t] - Median(t) > rise) (worst, rise) = (t, values[t] - Median(t));
            return new Divergence(m.Step, Terms[worst], values[worst], Median(worst));
        }
        history.Enqueue(values);
        if (history.Count > guard.Window) history.Dequeue();
        return null;
    }

    /// <summary>The warnings due after a step (each kind once per run).</summary>
    public IEnumerable<TrainWarning> Warnings(StepMetrics m, CodeUsage window, int windowSteps)
    {
        var due = new List<TrainWarning>();
        int full = options.UsageWindow > 0 ? Math.Min(options.UsageWindow, 50) : 50;
        int floor = Math.Max(2, codes / 10);
        if (windowSteps >= full && window.Used < floor && codes > 2)
            Add(due, m.Step, TrainWarningKind.CodebookCollapse, string.Create(CultureInfo.InvariantCulture,
                $"codebook collapse at step {m.Step}: only {window.Used} of {codes} codes used over the last {windowSteps} steps (perplexity {window.Perplexity:F1}); {(options.DeadCodes is null ? "turn dead-code restart on" : "try the EMA codebook or a smaller learning rate")}"));
        // Images without spread (InputStd 0) never count: no spread is below 5% of none.
        flatSteps = m.OutputStd < SaturationRatio * m.InputStd ? flatSteps + 1 : 0;
        if (flatSteps >= SaturationSteps)
            Add(due, m.Step, TrainWarningKind.SaturatedOutput, string.Create(CultureInfo.InvariantCulture,
                $"reconstructions saturated at step {m.Step}: the output is nearly constant (mean {m.OutputMean:F3}, spread {m.OutputStd:F4} against the images' {m.InputStd:F3}){(m.OutputMean < 0.05 ? ", all black" : "")}; lower the learning rate"));
        return due;
    }

    private void Add(List<TrainWarning> due, int step, TrainWarningKind kind, string message)
    {
        if (!warned.Add(kind)) return;
        var w = new TrainWarning(step, kind, message);
        issued.Add(w);
        due.Add(w);
    }

    private double Median(int term)
    {
        // Stryker disable once Linq : the median of a list sorted descending is the same middle value (or pair)
        var v = history.Select(h => (double)h[term]).Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
