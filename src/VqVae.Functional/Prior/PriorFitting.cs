using VqVae.Functional.Optim;
using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>How to fit a prior: steps of Adam on shuffled batches of code grids.</summary>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="Batch">Grids per step.</param>
/// <param name="LearningRate">Adam's step size.</param>
/// <param name="Seed">Initialisation and shuffling.</param>
public sealed record PriorFitOptions(int Steps = 1500, int Batch = 64, float LearningRate = 1e-3f, long Seed = 0);

/// <summary>Held-out figures of a prior, in bits per code (DESIGN §4 Generation).</summary>
/// <param name="NllBitsPerCode">The prior's mean −log₂ p(code | codes before it) on the held-out grids.</param>
/// <param name="UniformBitsPerCode">log₂ K: every code equally likely.</param>
/// <param name="UnigramBitsPerCode">Held-out cross-entropy under the training set's code frequencies (add-one smoothed, so a code unseen in training costs log₂ of its small share, not infinity).</param>
public sealed record PriorEvaluation(double NllBitsPerCode, double UniformBitsPerCode, double UnigramBitsPerCode);

/// <summary>The encode → fit → evaluate pipeline for a prior over a VQ-VAE's codes.</summary>
public static class PriorFitting
{
    /// <summary>Code grids of all images x [N,C,H,W] (pixels, as Encode takes them), encoded in batches with no tape.</summary>
    public static CodeIndices EncodeAll(VqVaeModel model, Tensor images, int batch = 256)
    {
        // Stryker disable once Statement : equivalent, Encode (called on the first chunk) refuses a null model with the same ArgumentNullException, named "model"
        ArgumentNullException.ThrowIfNull(model);
        return Join(InChunks(images, batch, x => VqVaeModel.EncodeToCodes(model, x)));
    }

    /// <summary>
    /// <paramref name="encode"/> of the images [N,C,H,W] in chunks of <paramref name="batch"/> along N, in order: the
    /// shared part of both model kinds' EncodeAll (so a large set never holds all its activations at once).
    /// </summary>
    internal static List<T> InChunks<T>(Tensor images, int batch, Func<Tensor, T> encode)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4 || images.Shape[0] < 1) throw new ArgumentException($"encodeAll: images must be [N,C,H,W] with N ≥ 1, got {ShapeUtil.Format(images.Shape)}.", nameof(images));
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "encodeAll: batch must be ≥ 1.");
        int n = images.Shape[0];
        var parts = new List<T>();
        for (int s = 0; s < n; s += batch) parts.Add(encode(images.Narrow(0, s, Math.Min(batch, n - s))));
        return parts;
    }

    /// <summary>Grids of the same height and width, one after another along the batch.</summary>
    internal static CodeIndices Join(IReadOnlyList<CodeIndices> parts) =>
        CodeIndices.Of([.. parts.SelectMany(p => p.Values)], parts.Sum(p => p.Batch), parts[0].Height, parts[0].Width);

    /// <summary>
    /// Fits <paramref name="prior"/> to <paramref name="codes"/> with Adam: each epoch visits the grids
    /// in a fresh seeded order. <paramref name="onStep"/> sees (step, nats per code of that batch).
    /// </summary>
    public static PixelCnnPrior Fit(PixelCnnPrior prior, CodeIndices codes, PriorFitOptions options, Action<int, double>? onStep = null,
        PriorCondition? condition = null)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(codes); ArgumentNullException.ThrowIfNull(options);
        if (options.Steps < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "prior fit: Steps must be ≥ 0.");
        if (options.Batch < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Batch, "prior fit: Batch must be ≥ 1.");
        condition?.CheckOnePerGrid(codes.Batch, nameof(condition));
        IOptimizer adam = new Adam(options.LearningRate);
        var state = adam.Init(prior);
        int n = codes.Batch, batch = Math.Min(options.Batch, n), per = codes.Height * codes.Width;
        var rng = Rng.Seed(options.Seed).Fold(0xF17);
        int[] order = [];
        int at = n;
        for (int step = 1; step <= options.Steps; step++)
        {
            if (at + batch > n) { order = rng.Fold(step).Permutation(n); at = 0; }
            var pick = order[at..(at + batch)];
            at += batch;
            var values = new int[batch * per];
            for (int i = 0; i < batch; i++) codes.Values.CopyTo(pick[i] * per, values, i * per, per);
            var cond = condition is null ? null : new PriorCondition(
                condition.Labels is null ? null : pick.Select(i => condition.Labels[i]).ToArray(),
                condition.Codes is null ? null : Gather(condition.Codes, pick));
            double nats;
            (prior, state, nats) = PriorTraining.Step(adam, prior, state, CodeIndices.Of(values, batch, codes.Height, codes.Width), cond);
            onStep?.Invoke(step, nats);
        }
        return prior;
    }

    private static CodeIndices Gather(CodeIndices codes, int[] pick)
    {
        int per = codes.Height * codes.Width;
        var v = new int[pick.Length * per];
        for (int i = 0; i < pick.Length; i++) codes.Values.CopyTo(pick[i] * per, v, i * per, per);
        return CodeIndices.Of(v, pick.Length, codes.Height, codes.Width);
    }

    /// <summary>The prior's held-out NLL beside the uniform and unigram baselines, all in bits per code.</summary>
    public static PriorEvaluation Evaluate(PixelCnnPrior prior, CodeIndices train, CodeIndices heldOut, PriorCondition? heldOutCondition = null)
    {
        ArgumentNullException.ThrowIfNull(prior);
        // Stryker disable once Statement : equivalent, UnigramBits (called before anything is returned) refuses a null train with the same ArgumentNullException, named "train"
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        heldOutCondition?.CheckOnePerGrid(heldOut.Batch, nameof(heldOutCondition));
        int k = prior.Config.CodebookSize;
        double nll = PriorTraining.MeanNats(prior, heldOut, heldOutCondition) / Math.Log(2);
        return new(nll, Math.Log2(k), UnigramBits(train, heldOut, k));
    }

    /// <summary>Mean −log₂ q(code) over the held-out codes, q = add-one smoothed code frequencies of the training codes.</summary>
    public static double UnigramBits(CodeIndices train, CodeIndices heldOut, int codebookSize)
    {
        ArgumentNullException.ThrowIfNull(train); ArgumentNullException.ThrowIfNull(heldOut);
        if (codebookSize < 1) throw new ArgumentOutOfRangeException(nameof(codebookSize), codebookSize, "unigram: codebookSize must be ≥ 1.");
        var counts = new double[codebookSize];
        foreach (var c in train.Values)
        {
            if ((uint)c >= (uint)codebookSize) throw new ArgumentOutOfRangeException(nameof(train), $"unigram: a training code is {c}, outside [0, {codebookSize - 1}].");
            counts[c]++;
        }
        double total = train.Values.Length + codebookSize, bits = 0;
        foreach (var c in heldOut.Values)
        {
            if ((uint)c >= (uint)codebookSize) throw new ArgumentOutOfRangeException(nameof(heldOut), $"unigram: a held-out code is {c}, outside [0, {codebookSize - 1}].");
            bits -= Math.Log2((counts[c] + 1) / total);
        }
        return bits / heldOut.Values.Length;
    }
}
