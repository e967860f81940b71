using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>
/// The VQ-VAE as pure functions over <see cref="VqVaeModel"/> records (DESIGN §4): init, encode,
/// quantize, decode, loss terms, inference. Nothing here mutates; training-mode calls return
/// updated buffers in their results.
/// </summary>
/// <example><code>
/// var cfg = VqVaeConfig.Mnist;
/// var model = VqVaeModel.Init(cfg, Rng.Seed(42));
/// var terms = VqVaeModel.LossTerms(model, x);                            // recon, codebook, commitment, total
/// var (total, grads) = Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Total, model);
/// var xHat = VqVaeModel.Reconstruct(model, x);                           // inference, no tape
/// </code></example>
public sealed partial record VqVaeModel
{
    /// <summary>
    /// A new model: convs and biases U(±1/√fan_in) like PyTorch (fan_in = Cin·kh·kw for Conv2d and,
    /// as PyTorch does, Cout·kh·kw for ConvTranspose2d), codebook U(−1/K, 1/K), and with an EMA
    /// quantizer cluster sizes 1 and EMA sums equal to the codebook (<see cref="EmaState.Init"/>).
    /// </summary>
    public static VqVaeModel Init(VqVaeConfig config, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var (enc, dec) = Architectures.Build(config, rng.Fold(0), rng.Fold(2));
        var codebook = Codebook.Init(rng.Fold(1), config.CodebookSize, config.CodeDim);
        return new VqVaeModel(config, new Encoder(enc), codebook, new Decoder(dec),
            config.Quantizer == QuantizerKind.Ema ? EmaState.Init(codebook) : null);
    }

    /// <summary>z_e = encoder(x) for pixels x, [B,D,H/4,W/4] (evaluation mode; the config's input shift applied first).</summary>
    public static Tensor Encode(VqVaeModel model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckImages(model.Config, x, nameof(x));
        return CheckLatents(model, model.Encoder.Apply(ToModelRange(model.Config, x)), "encoder output");
    }

    /// <summary>Quantizes z_e [B,D,H,W] with the model's codebook (through a stop-gradient for the EMA quantizer, whose codebook gets no gradient).</summary>
    public static Quantized Quantize(VqVaeModel model, Tensor ze)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Quantizer.Quantize(CodebookFor(model), ze);
    }

    /// <summary>x̂ = decoder(z) for latents z [B,D,h,w], in pixels (evaluation mode; the config's input shift taken back off).</summary>
    public static Tensor Decode(VqVaeModel model, Tensor z)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckLatents(model, z, nameof(z));
        return ToPixels(model.Config, model.Decoder.Apply(z));
    }

    /// <summary>z_q [B,D,H,W] for code indices [B,H,W]: the codes, back in NCHW.</summary>
    public static Tensor CodesToLatents(VqVaeModel model, CodeIndices indices)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Stryker disable once Statement : Quantizer.Lookup refuses null indices the same way, by the same name
        ArgumentNullException.ThrowIfNull(indices);
        return Quantizer.Lookup(model.Codebook.Embedding, indices);
    }

    /// <summary>Code indices [B,H,W] of images x (inference: no tape is recorded).</summary>
    public static CodeIndices EncodeToCodes(VqVaeModel model, Tensor x)
    {
        using var _ = NoGradScope.Begin();
        return Quantize(model, Encode(model, x)).Indices;
    }

    /// <summary>Images decoded from code indices [B,H,W] (inference: no tape is recorded).</summary>
    public static Tensor DecodeCodes(VqVaeModel model, CodeIndices indices)
    {
        using var _ = NoGradScope.Begin();
        return Decode(model, CodesToLatents(model, indices));
    }

    /// <summary>x̂ = decoder(quantize(encoder(x))) in pixels, in evaluation mode with no tape recorded.</summary>
    public static Tensor Reconstruct(VqVaeModel model, Tensor x)
    {
        using var _ = NoGradScope.Begin();
        return Decode(model, Quantize(model, Encode(model, x)).DecoderInput);
    }

    /// <summary>Pixels in [0, 1] as the model's encoder sees them: shifted by <see cref="VqVaeConfig.InputShift"/>
    /// (the one place the input range is applied; <see cref="Encode"/> and <see cref="LossTerms"/> call it).</summary>
    internal static Tensor ToModelRange(VqVaeConfig config, Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(config); ArgumentNullException.ThrowIfNull(pixels);
        return config.InputShift == 0f ? pixels : pixels + config.InputShift;
    }

    /// <summary>Values in the model's range (its input or its decoder's output) back in pixels: <see cref="VqVaeConfig.InputShift"/> subtracted.</summary>
    internal static Tensor ToPixels(VqVaeConfig config, Tensor modelValues)
    {
        ArgumentNullException.ThrowIfNull(config); ArgumentNullException.ThrowIfNull(modelValues);
        return config.InputShift == 0f ? modelValues : modelValues - config.InputShift;
    }

    internal static Tensor CodebookFor(VqVaeModel model) =>
        model.Config.Quantizer == QuantizerKind.Ema ? model.Codebook.Embedding.NoDiff() : model.Codebook.Embedding;

    /// <summary>Throws unless x is [B, C, H, W] with C = config.Channels and H, W positive multiples of 4.</summary>
    public static void CheckImages(VqVaeConfig config, Tensor x, string argument)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(x, argument);
        var s = x.Shape;
        int f = config.Downsampling;
        if (s.Length != 4 || s[0] < 1 || s[1] != config.Channels || s[2] < f || s[3] < f || s[2] % f != 0 || s[3] % f != 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{argument} must be [B, C={config.Channels}, H, W] with H and W positive multiples of {f} (e.g. [B, {config.Channels}, 28, 28]), got {ShapeUtil.Format(s)}."), argument);
    }

    private static Tensor CheckLatents(VqVaeModel model, Tensor z, string argument)
    {
        ArgumentNullException.ThrowIfNull(z, argument);
        var s = z.Shape;
        if (s.Length != 4 || s[1] != model.Codebook.Dim)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{argument} must be latents [B, D={model.Codebook.Dim}, H, W], got {ShapeUtil.Format(s)}."), argument);
        return z;
    }
}
