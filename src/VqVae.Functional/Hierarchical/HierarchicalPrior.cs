using VqVae.Functional.Prior;
using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// The two priors of a VQ-VAE-2 (Razavi et al. 2019, §3.2): a Gated PixelCNN over the top code grid, and
/// one over the bottom grid conditioned on the top grid (the library's grid condition: the top codes,
/// embedded and repeated 2×2 onto the bottom grid, enter every gated layer through a 1×1 convolution, so
/// the bottom logits at p see bottom codes before p and top codes anywhere).
/// </summary>
/// <remarks>Its leaves are the two priors' under <c>top.</c> and <c>bottom.</c> (<see cref="HierarchicalPriorCheckpoint"/>).</remarks>
/// <param name="Top">p(top codes).</param>
/// <param name="Bottom">p(bottom codes | top codes).</param>
public sealed record HierarchicalPrior(PixelCnnPrior Top, PixelCnnPrior Bottom) : IParameterTree<HierarchicalPrior>
{
    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Child("top", Top);
        writer.Child("bottom", Bottom);
    }

    /// <inheritdoc/>
    public HierarchicalPrior Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var top = reader.Child(Top);
        return new(top, reader.Child(Bottom));
    }
}

/// <summary>
/// The encode → fit → evaluate → sample pipeline of a hierarchical prior over a VQ-VAE-2's codes: pure
/// functions over <see cref="HierarchicalPrior"/> records, built on <see cref="PriorModel"/>,
/// <see cref="PriorFitting"/> and <see cref="PriorSampling"/>.
/// </summary>
/// <example><code>
/// var codes = HierarchicalPriors.EncodeAll(model, images);
/// var prior = HierarchicalPriors.Init(model.Config, 28, 28, Rng.Seed(0));
/// prior = HierarchicalPriors.Fit(prior, codes, new PriorFitOptions(Steps: 1000));
/// var samples = HierarchicalPriors.SampleImages(model, prior, 16, new SamplingOptions(Seed: 1), 28, 28);
/// </code></example>
public static class HierarchicalPriors
{
    /// <summary>
    /// The two prior configs for a VQ-VAE-2 on H×W images: top over K_t codes on the top grid; bottom over K_b
    /// codes on the bottom grid, conditioned on the K_t-code top grid. <paramref name="layers"/> gated layers of
    /// <paramref name="channels"/> channels each, 3×3 kernels (8 layers cover an 8×8 grid with no blind spot).
    /// </summary>
    public static (PriorConfig Top, PriorConfig Bottom) Configs(VqVae2Config config, int height, int width, int channels = 64, int layers = 8)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"hierarchical prior: image sides must be ≥ 1, got {height}×{width}.");
        var (bh, bw, th, tw) = VqVae2Config.GridsFor(height, width);
        var top = new PriorConfig(config.TopCodebookSize, th, tw, channels, layers).Validate();
        var bottom = new PriorConfig(config.BottomCodebookSize, bh, bw, channels, layers,
            ConditionCodes: config.TopCodebookSize, ConditionHeight: th, ConditionWidth: tw).Validate();
        return (top, bottom);
    }

    /// <summary>New top and bottom priors for <see cref="Configs"/>, each from its own fold of the key.</summary>
    public static HierarchicalPrior Init(VqVae2Config config, int height, int width, Rng rng, int channels = 64, int layers = 8)
    {
        var (t, b) = Configs(config, height, width, channels, layers);
        return new(PriorModel.Init(t, rng.Fold(0)), PriorModel.Init(b, rng.Fold(1)));
    }

    /// <summary>Both code grids of all images [N,C,H,W] (pixels), encoded in batches with no tape.</summary>
    public static HierarchicalCodes EncodeAll(VqVae2Model model, Tensor images, int batch = 256)
    {
        // Stryker disable once Statement : equivalent, VqVae2Model.Encode (the first chunk's) refuses a null model with the same exception and name
        ArgumentNullException.ThrowIfNull(model);
        var parts = PriorFitting.InChunks(images, batch, x => VqVae2Model.Encode(model, x));
        return new(PriorFitting.Join([.. parts.Select(p => p.Top)]), PriorFitting.Join([.. parts.Select(p => p.Bottom)]));
    }

    /// <summary>
    /// Fits the top prior to the top grids and the bottom prior to the bottom grids given their own top grids
    /// (teacher forcing: the true top codes, as the paper trains it). <paramref name="onStep"/> sees ("top" or
    /// "bottom", step, nats per code of that batch).
    /// </summary>
    public static HierarchicalPrior Fit(HierarchicalPrior prior, HierarchicalCodes codes, PriorFitOptions options, Action<string, int, double>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(codes);
        // Stryker disable once Statement : equivalent, PriorFitting.Fit (the top level's, called first) refuses null options with the same exception and name
        ArgumentNullException.ThrowIfNull(options);
        var top = PriorFitting.Fit(prior.Top, codes.Top, options, onStep is null ? null : (s, n) => onStep("top", s, n));
        var bottom = PriorFitting.Fit(prior.Bottom, codes.Bottom, options with { Seed = options.Seed + 1 },
            onStep is null ? null : (s, n) => onStep("bottom", s, n), new PriorCondition(Codes: codes.Top));
        return new(top, bottom);
    }

    /// <summary>Held-out bits per code of each level beside its uniform and unigram baselines (the bottom given the held-out top codes).</summary>
    public static (PriorEvaluation Top, PriorEvaluation Bottom) Evaluate(HierarchicalPrior prior, HierarchicalCodes train, HierarchicalCodes heldOut)
    {
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(train); ArgumentNullException.ThrowIfNull(heldOut);
        return (PriorFitting.Evaluate(prior.Top, train.Top, heldOut.Top),
                PriorFitting.Evaluate(prior.Bottom, train.Bottom, heldOut.Bottom, new PriorCondition(Codes: heldOut.Top)));
    }

    /// <summary>Ancestral sampling, top then bottom: <paramref name="count"/> top grids from the top prior, then bottom grids from the bottom prior given them (seed, seed + 1).</summary>
    public static HierarchicalCodes Sample(HierarchicalPrior prior, int count, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prior);
        var o = options ?? new SamplingOptions();
        var top = PriorSampling.Sample(prior.Top, count, o);
        var bottom = PriorSampling.Sample(prior.Bottom, count, o with { Seed = o.Seed + 1 }, new PriorCondition(Codes: top));
        return new(top, bottom);
    }

    /// <summary>Sampled codes decoded to images [count, C, height, width] (pixels in the model's output range; no tape).</summary>
    public static Tensor SampleImages(VqVae2Model model, HierarchicalPrior prior, int count, SamplingOptions? options, int height, int width)
    {
        // Stryker disable once Statement : equivalent in outcome, DecodeCodes refuses a null model with the same exception and name (this check only spares the sampling)
        ArgumentNullException.ThrowIfNull(model);
        return VqVae2Model.DecodeCodes(model, Sample(prior, count, options), height, width);
    }
}
