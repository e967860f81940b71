using System.Globalization;

namespace VqVae.Functional.Training;

/// <summary>What a <see cref="TrainWarning"/> is about.</summary>
public enum TrainWarningKind
{
    /// <summary>Few codes are in use over the usage window (the codebook collapsed).</summary>
    CodebookCollapse,
    /// <summary>The reconstructions are nearly constant (e.g. all black): the output saturated.</summary>
    SaturatedOutput,
}

/// <summary>Something the trainer noticed that the user should know about; training goes on.</summary>
/// <param name="Step">The optimizer step at which it was noticed.</param>
/// <param name="Kind">What it is about.</param>
/// <param name="Message">One line saying what was seen and what to try.</param>
public sealed record TrainWarning(int Step, TrainWarningKind Kind, string Message);

/// <summary>
/// Why the trainer stopped a diverging run: a loss term that became NaN or infinite, or a total loss
/// above <see cref="DivergenceGuard.Factor"/> times its running median (the term named is the one that rose most).
/// </summary>
/// <param name="Step">The step whose loss was bad.</param>
/// <param name="Term">recon, codebook, commitment or total; or "encoder output" when z_e itself became non-finite.</param>
/// <param name="Value">Its value at that step.</param>
/// <param name="Median">Its running median before that step (NaN when there was none yet).</param>
public sealed record Divergence(int Step, string Term, float Value, double Median)
{
    /// <summary>One line: the step, the term, what it did and a hint.</summary>
    public string Message => float.IsFinite(Value)
        ? string.Create(CultureInfo.InvariantCulture, $"training diverged at step {Step}: the loss exploded, the {What} jumping to {Value:G4} from a running median of {Median:G4}; lower the learning rate")
        : string.Create(CultureInfo.InvariantCulture, $"training diverged at step {Step}: the {What} became {Value}; lower the learning rate");

    private string What => Term is "recon" or "codebook" or "commitment" or "total" ? Term + " loss" : Term;
}

/// <summary>When the trainer calls a run diverged (see <see cref="Divergence"/>).</summary>
/// <param name="Factor">A total loss larger than this many times its running median diverged (&gt; 1).</param>
/// <param name="Window">Steps the running median covers (≥ 1).</param>
/// <param name="MinSteps">Steps of history needed before the ratio is checked (non-finite values are checked from the first step).</param>
public sealed record DivergenceGuard(double Factor = 100, int Window = 50, int MinSteps = 20)
{
    /// <summary>100× the median of the last 50 steps, checked after 20 steps.</summary>
    public static DivergenceGuard Default { get; } = new();

    /// <summary>Throws naming the bad field.</summary>
    public DivergenceGuard Validate()
    {
        if (!(Factor > 1) || double.IsInfinity(Factor)) throw new ArgumentOutOfRangeException(nameof(Factor), Factor, string.Create(CultureInfo.InvariantCulture, $"divergence: Factor must be finite and > 1, got {Factor}."));
        if (Window < 1) throw new ArgumentOutOfRangeException(nameof(Window), Window, $"divergence: Window must be ≥ 1, got {Window}.");
        if (MinSteps < 1) throw new ArgumentOutOfRangeException(nameof(MinSteps), MinSteps, $"divergence: MinSteps must be ≥ 1, got {MinSteps}.");
        return this;
    }
}
