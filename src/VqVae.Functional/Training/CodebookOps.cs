using VqVae.Functional.Codebooks;
using VqVae.Tensors;

namespace VqVae.Functional.Training;

/// <summary>Codebook health operations at the level of a whole model: encoder rows, k-means initialisation, dead-code restart.</summary>
public static class CodebookOps
{
    /// <summary>Encoder outputs of <paramref name="batches"/> as channel-last rows [N,D] (evaluation mode, no tape).</summary>
    public static Tensor EncoderRows(VqVaeModel model, IEnumerable<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(batches);
        using var _ = NoGradScope.Begin();
        var parts = batches.Select(x =>
        {
            var ze = VqVaeModel.Encode(model, x);
            return ze.Permute(0, 2, 3, 1).Reshape(-1, ze.Shape[1]);
        }).ToArray();
        if (parts.Length == 0) throw new ArgumentException("encoderRows: no batches were given.", nameof(batches));
        return Tensor.Cat(parts);
    }

    /// <summary>
    /// The model with its codebook set by k-means on <paramref name="rows"/> (see <see cref="KMeans.Init"/>),
    /// and with an EMA quantizer the EMA statistics restarted from it (<see cref="Ema.UnitCounts"/>).
    /// </summary>
    /// <example><code>var m2 = CodebookOps.KMeansInit(model, CodebookOps.EncoderRows(model, batches), Rng.Seed(1));</code></example>
    public static VqVaeModel KMeansInit(VqVaeModel model, Tensor rows, Rng rng, int iterations = 10)
    {
        ArgumentNullException.ThrowIfNull(model);
        var codebook = KMeans.Init(rows, model.Codebook.Size, rng, iterations);
        return model with { Codebook = new Codebook(codebook), Ema = model.Ema is null ? null : Ema.UnitCounts(codebook) };
    }

    /// <summary>
    /// <see cref="KMeansInit(VqVaeModel, Tensor, Rng, int)"/> on encoder outputs of the first batches of
    /// <paramref name="batches"/>: batches are taken until they hold 4·K rows (or run out; k-means needs at least K).
    /// </summary>
    public static VqVaeModel KMeansInit(VqVaeModel model, IEnumerable<Tensor> batches, Rng rng, int iterations = 10)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(batches);
        long want = 4L * model.Codebook.Size, have = 0;
        int f = model.Config.Downsampling;
        var taken = new List<Tensor>();
        foreach (var x in batches)
        {
            if (have >= want) break;
            taken.Add(x);
            var s = x.Shape;
            have += (long)s[0] * (s[2] / f) * (s[3] / f);
        }
        return KMeansInit(model, EncoderRows(model, taken), rng, iterations);
    }

    /// <summary>
    /// The model with every code that <paramref name="usage"/> never saw moved onto a random row of
    /// <paramref name="rows"/> (encoder outputs of a batch) and its EMA statistics reset
    /// (see <see cref="DeadCodes.Restart(Tensor, EmaState?, Tensor, CodeUsage, Rng)"/>). Used codes and every other leaf are untouched.
    /// </summary>
    /// <example><code>
    /// var run = Trainer.Run(adam, model, epoch);
    /// var revived = CodebookOps.DeadCodeRestart(run.Model, CodebookOps.EncoderRows(run.Model, [x]), run.Usage, Rng.Seed(7));
    /// </code></example>
    public static VqVaeModel DeadCodeRestart(VqVaeModel model, Tensor rows, CodeUsage usage, Rng rng) =>
        DeadCodeRestart(model, rows, usage, new DeadCodePolicy(MinShare: 0), rng).Model;

    /// <summary>
    /// Like the other overload, for every code with fewer rows in <paramref name="usage"/> than
    /// <paramref name="policy"/> allows (<see cref="DeadCodePolicy.ThresholdFor"/>); also returns which codes were moved.
    /// </summary>
    public static (VqVaeModel Model, int[] Restarted) DeadCodeRestart(VqVaeModel model, Tensor rows, CodeUsage usage, DeadCodePolicy policy, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(policy);
        // Stryker disable once Statement : equivalent, policy.ThresholdFor (next) refuses a null usage with the same exception and name
        ArgumentNullException.ThrowIfNull(usage);
        var (codebook, ema, restarted) = DeadCodes.Restart(model.Codebook.Embedding, model.Ema, rows, usage, policy.ThresholdFor(usage), rng);
        return (restarted.Length == 0 ? model : model with { Codebook = new Codebook(codebook), Ema = ema }, restarted);
    }
}
