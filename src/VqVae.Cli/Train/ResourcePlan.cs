using VqVae.Functional.Model;
using VqVae.Functional.Resources;

namespace VqVae.Cli.Train;

/// <summary>The resource plan of <c>train</c> and <c>bench</c>: refuse, in one line with the figure, what will not fit.</summary>
internal static class ResourcePlan
{
    /// <summary>Throws a <see cref="UserError"/> when training <paramref name="cfg"/> needs more than <c>--max-memory</c> (or the memory available).</summary>
    public static MemoryPlan CheckTraining(VqVaeConfig cfg, int batch, int height, int width, float? maxMemoryGb, string verb)
    {
        var plan = MemoryPlan.ForTraining(cfg, batch, height, width);
        long limit = maxMemoryGb is { } gb ? (long)Math.Min(gb * 1e9, long.MaxValue / 2) : MemoryPlan.AvailableBytes();
        if (plan.Bytes > limit)
            throw new UserError($"{verb} would need {plan.Describe()}, more than the {MemoryPlan.Gb(limit)} "
                + (maxMemoryGb is null ? "available now" : "of --max-memory")
                + $" (h={cfg.Hidden}, K={cfg.CodebookSize}, D={cfg.CodeDim}, batch {batch}); use smaller sizes, or raise --max-memory if you know better");
        return plan;
    }
}
