using System.Globalization;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// The VQ-VAE-2 as pure functions over <see cref="VqVae2Model"/> records: init, the stages of the forward
/// pass (each public, so that a test can recompose the pass with one piece replaced), encode to both code
/// grids, decode from both levels, and the loss terms per level. Nothing here mutates.
/// </summary>
public sealed partial record VqVae2Model
{
    /// <summary>A new model: convs U(±1/√fan_in) as PyTorch initialises them, codebooks U(−1/K, 1/K), EMA state as <see cref="EmaState.Init"/>.</summary>
    public static VqVae2Model Init(VqVae2Config config, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return VqVae2Architecture.Build(config, rng);
    }

    /// <summary>Pixels x [B,C,H,W] in [0, 1] as the encoders see them: padded with black to sides that are multiples of 8, then shifted by <see cref="VqVae2Config.InputShift"/>.</summary>
    public static Tensor ModelInput(VqVae2Config config, Tensor x)
    {
        // Stryker disable once Statement : equivalent, CheckImages (next) refuses a null config with the same exception and name
        ArgumentNullException.ThrowIfNull(config);
        CheckImages(config, x, nameof(x));
        var padded = Pad(x, 2, VqVae2Config.PaddedSide(x.Shape[2]));
        padded = Pad(padded, 3, VqVae2Config.PaddedSide(x.Shape[3]));
        // Stryker disable once Conditional : equivalent, adding 0 changes no value (the branch only skips a copy)
        return config.InputShift == 0f ? padded : padded + config.InputShift;
    }

    /// <summary>enc_b: the bottom features [B,h,H'/4,W'/4] of a model input.</summary>
    public static Tensor BottomFeatures(VqVae2Model model, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Stryker disable once Statement : equivalent, the first convolution refuses a null input with the same exception and name
        ArgumentNullException.ThrowIfNull(input);
        return model.EncoderBottom.Apply(input);
    }

    /// <summary>quantize_conv_t(enc_t(features)): z_e,t [B,D,H'/8,W'/8].</summary>
    public static Tensor TopLatents(VqVae2Model model, Tensor bottomFeatures)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(bottomFeatures);
        return model.QuantizeConvTop.Apply(model.EncoderTop.Apply(bottomFeatures));
    }

    /// <summary>Quantizes z_e,t with the top codebook (through a stop-gradient with EMA).</summary>
    public static Quantized QuantizeTop(VqVae2Model model, Tensor zeTop)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(zeTop);
        return Quantizer.Quantize(model.Top.ForQuantizer(model.Config.Quantizer), zeTop);
    }

    /// <summary>quantize_conv_b([features, dec_t(top)]): z_e,b [B,D,H'/4,W'/4] from the bottom features and the top level's decoder input.</summary>
    public static Tensor BottomLatents(VqVae2Model model, Tensor bottomFeatures, Tensor topDecoderInput)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(bottomFeatures); ArgumentNullException.ThrowIfNull(topDecoderInput);
        var fromTop = model.DecoderTop.Apply(topDecoderInput);
        return model.QuantizeConvBottom.Apply(Tensor.Cat([bottomFeatures, fromTop], dim: 1));
    }

    /// <summary>Quantizes z_e,b with the bottom codebook (through a stop-gradient with EMA).</summary>
    public static Quantized QuantizeBottom(VqVae2Model model, Tensor zeBottom)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(zeBottom);
        return Quantizer.Quantize(model.Bottom.ForQuantizer(model.Config.Quantizer), zeBottom);
    }

    /// <summary>
    /// dec([upsample_t(top), bottom]): the image from both levels' latents (top [B,D,h,w], bottom [B,D,2h,2w]),
    /// cropped to <paramref name="height"/>×<paramref name="width"/> (default: the full padded size 8h×8w) and back in pixels.
    /// </summary>
    public static Tensor Decode(VqVae2Model model, Tensor top, Tensor bottom, int? height = null, int? width = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckLatents(model, top, bottom);
        var y = model.Decoder.Apply(Tensor.Cat([model.UpsampleTop.Apply(top), bottom], dim: 1));
        y = Crop(y, 2, height ?? y.Shape[2], nameof(height));
        y = Crop(y, 3, width ?? y.Shape[3], nameof(width));
        // Stryker disable once Conditional : equivalent, subtracting 0 changes no value (the branch only skips a copy)
        return model.Config.InputShift == 0f ? y : y - model.Config.InputShift;
    }

    /// <summary>The latents of both levels for code grids (the codebook rows, back in NCHW).</summary>
    public static (Tensor Top, Tensor Bottom) CodesToLatents(VqVae2Model model, HierarchicalCodes codes)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(codes);
        return (Quantizer.Lookup(model.Top.Codebook.Embedding, codes.Top), Quantizer.Lookup(model.Bottom.Codebook.Embedding, codes.Bottom));
    }

    /// <summary>Both code grids of images x [B,C,H,W] (inference: no tape is recorded).</summary>
    public static HierarchicalCodes Encode(VqVae2Model model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var _ = NoGradScope.Begin();
        var f = BottomFeatures(model, ModelInput(model.Config, x));
        var qt = QuantizeTop(model, TopLatents(model, f));
        var qb = QuantizeBottom(model, BottomLatents(model, f, qt.DecoderInput));
        return new(qt.Indices, qb.Indices);
    }

    /// <summary>Images decoded from both code grids, cropped to height×width when given (inference: no tape is recorded).</summary>
    public static Tensor DecodeCodes(VqVae2Model model, HierarchicalCodes codes, int? height = null, int? width = null)
    {
        using var _ = NoGradScope.Begin();
        var (t, b) = CodesToLatents(model, codes);
        return Decode(model, t, b, height, width);
    }

    /// <summary>x̂ for images x, the same size as x (inference: no tape is recorded).</summary>
    public static Tensor Reconstruct(VqVae2Model model, Tensor x)
    {
        // Stryker disable once Statement : equivalent, LossTerms (next) refuses a null model with the same exception and name
        ArgumentNullException.ThrowIfNull(model);
        using var _ = NoGradScope.Begin();
        return LossTerms(model, x).XHat;
    }

    /// <summary>
    /// The loss terms of <paramref name="model"/> on pixels x [B,C,H,W]: the reconstruction, and per level the
    /// codebook and commitment terms (β, the reconstruction kind and the quantizer kind from the model's config).
    /// The decoder sees each level through its quantizer's straight-through copy, so the reconstruction's
    /// gradient reaches both encoders and neither codebook.
    /// </summary>
    public static VqVae2LossTerms LossTerms(VqVae2Model model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        var cfg = model.Config;
        var f = BottomFeatures(model, ModelInput(cfg, x));
        var qt = QuantizeTop(model, TopLatents(model, f));
        var qb = QuantizeBottom(model, BottomLatents(model, f, qt.DecoderInput));
        var xHat = Decode(model, qt.DecoderInput, qb.DecoderInput, x.Shape[2], x.Shape[3]);
        var recon = Loss.Reconstruction(cfg.Reconstruction, xHat, x);
        var cbT = Loss.Codebook(qt.ZQ, qt.ZE);
        var cbB = Loss.Codebook(qb.ZQ, qb.ZE);
        var cmT = Loss.Commitment(qt.ZE, qt.ZQ);
        var cmB = Loss.Commitment(qb.ZE, qb.ZQ);
        var total = Loss.Total(cfg.Quantizer, cfg.Beta, recon, cbT + cbB, cmT + cmB);
        return new(recon, cbT, cbB, cmT, cmB, total, qt, qb, xHat);
    }

    /// <summary>Throws unless x is [B, C, H, W] with C = config.Channels and B, H, W ≥ 1.</summary>
    public static void CheckImages(VqVae2Config config, Tensor x, string argument)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(x, argument);
        var s = x.Shape;
        if (s.Length != 4 || s[0] < 1 || s[1] != config.Channels || s[2] < 1 || s[3] < 1)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{argument} must be images [B, C={config.Channels}, H, W] (e.g. [B, {config.Channels}, 28, 28]; sides are padded to multiples of 8), got {ShapeUtil.Format(s)}."), argument);
    }

    private static void CheckLatents(VqVae2Model model, Tensor top, Tensor bottom)
    {
        ArgumentNullException.ThrowIfNull(top); ArgumentNullException.ThrowIfNull(bottom);
        int d = model.Config.CodeDim;
        var (t, b) = (top.Shape, bottom.Shape);
        if (t.Length != 4 || t[1] != d)
            throw new ArgumentException($"vqvae2 decode: top latents must be [B, D={d}, h, w], got {ShapeUtil.Format(t)}.", nameof(top));
        if (b.Length != 4 || b[0] != t[0] || b[1] != d || b[2] != 2 * t[2] || b[3] != 2 * t[3])
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"vqvae2 decode: bottom latents must be [B={t[0]}, D={d}, {2 * t[2]}, {2 * t[3]}] (twice the top grid {t[2]}×{t[3]}), got {ShapeUtil.Format(b)}."), nameof(bottom));
    }

    // Black (0) pixels appended to reach `size` along `dim`, split evenly with the odd one at the end.
    private static Tensor Pad(Tensor x, int dim, int size)
    {
        int n = x.Shape[dim];
        if (n == size) return x;
        int before = (size - n) / 2, after = size - n - before;
        Tensor Zeros(int count) { var s = (int[])x.Shape.Clone(); s[dim] = count; return Tensor.Full(x.Backend, 0f, s); }
        var parts = new List<Tensor>(3);
        // Stryker disable once Equality : equivalent, an empty part adds nothing to the concatenation
        if (before > 0) parts.Add(Zeros(before));
        parts.Add(x);
        // Stryker disable once Equality : equivalent, as above
        if (after > 0) parts.Add(Zeros(after));
        return Tensor.Cat(parts, dim);
    }

    // The centre `size` elements along `dim`: the inverse of Pad's placement.
    private static Tensor Crop(Tensor y, int dim, int size, string argument)
    {
        int n = y.Shape[dim];
        // n is a positive multiple of 8, so this also refuses sizes below 1 (they pad to 0 or less) and above n.
        if (VqVae2Config.PaddedSide(size) != n)
            throw new ArgumentOutOfRangeException(argument, size, string.Create(CultureInfo.InvariantCulture,
                $"vqvae2 decode: the output side must be in ({n - 8}, {n}] for a decoded side of {n} (sides are padded to the next multiple of 8), got {size}."));
        return y.Narrow(dim, (n - size) / 2, size); // the whole side is y itself
    }
}
