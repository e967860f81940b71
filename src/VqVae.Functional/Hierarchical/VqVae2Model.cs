using VqVae.Functional.Model;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// A two-level VQ-VAE (VQ-VAE-2, Razavi et al. 2019) as an immutable tree of tensors. The leaves carry
/// the <c>state_dict</c> names a PyTorch port in the style of rosinality/vq-vae-2-pytorch would use, in its
/// module order: <c>enc_b.*</c> (image → 1/4), <c>enc_t.*</c> (1/4 → 1/8), <c>quantize_conv_t.*</c> (1×1 to D),
/// <c>quantize_t.embedding.weight</c> [K_t, D], <c>dec_t.*</c> (top codes → 1/4), <c>quantize_conv_b.*</c>
/// (1×1 from enc_b's output joined with dec_t's to D), <c>quantize_b.embedding.weight</c> [K_b, D],
/// <c>upsample_t.*</c> (top codes → 1/4), <c>dec.*</c> (both levels → image); with EMA quantizers also
/// <c>quantize_t.cluster_size</c>, <c>quantize_t.ema_w</c> and the same under <c>quantize_b.</c>.
/// (Codebooks are stored [K, D] like the single-level <c>vq.embedding.weight</c>, i.e. an <c>nn.Embedding</c>,
/// not rosinality's transposed <c>embed</c> buffer.)
/// </summary>
/// <example><code>
/// var model = VqVae2Model.Init(VqVae2Config.Mnist, Rng.Seed(0));
/// var terms = VqVae2Model.LossTerms(model, x);                   // recon, codebook_t/_b, commitment_t/_b, total
/// var codes = VqVae2Model.Encode(model, x);                      // codes.Top [B,4,4], codes.Bottom [B,8,8] for 28×28
/// var xHat = VqVae2Model.DecodeCodes(model, codes, 28, 28);
/// </code></example>
/// <param name="Config">The architecture and loss settings.</param>
/// <param name="EncoderBottom">enc_b: image [B,C,H',W'] → features [B,h,H'/4,W'/4] (H' the padded side).</param>
/// <param name="EncoderTop">enc_t: bottom features → top features [B,h,H'/8,W'/8].</param>
/// <param name="QuantizeConvTop">quantize_conv_t: top features → z_e,t [B,D,H'/8,W'/8].</param>
/// <param name="Top">quantize_t: the top codebook (and its EMA state).</param>
/// <param name="DecoderTop">dec_t: the top decoder input → [B,D,H'/4,W'/4], joined with the bottom features.</param>
/// <param name="QuantizeConvBottom">quantize_conv_b: [bottom features, dec_t output] → z_e,b [B,D,H'/4,W'/4].</param>
/// <param name="Bottom">quantize_b: the bottom codebook (and its EMA state).</param>
/// <param name="UpsampleTop">upsample_t: top decoder input → [B,D,H'/4,W'/4] for the decoder.</param>
/// <param name="Decoder">dec: [upsampled top, bottom] [B,2D,H'/4,W'/4] → image [B,C,H',W'].</param>
public sealed partial record VqVae2Model(
    VqVae2Config Config,
    Sequential EncoderBottom,
    Sequential EncoderTop,
    Conv2dLayer QuantizeConvTop,
    QuantizerLevel Top,
    Sequential DecoderTop,
    Conv2dLayer QuantizeConvBottom,
    QuantizerLevel Bottom,
    ConvTranspose2dLayer UpsampleTop,
    Sequential Decoder) : IParameterTree<VqVae2Model>
{
    /// <summary>Leaf name of the top codebook.</summary>
    public const string TopCodebookName = "quantize_t.embedding.weight";
    /// <summary>Leaf name of the bottom codebook.</summary>
    public const string BottomCodebookName = "quantize_b.embedding.weight";

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Child("enc_b", EncoderBottom);
        writer.Child("enc_t", EncoderTop);
        writer.Child("quantize_conv_t", QuantizeConvTop.Flatten);
        writer.Child("quantize_t", Top);
        writer.Child("dec_t", DecoderTop);
        writer.Child("quantize_conv_b", QuantizeConvBottom.Flatten);
        writer.Child("quantize_b", Bottom);
        writer.Child("upsample_t", UpsampleTop.Flatten);
        writer.Child("dec", Decoder);
    }

    /// <inheritdoc/>
    public VqVae2Model Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        // Same order as Flatten; each part reads its own leaves.
        var encB = EncoderBottom.Unflatten(reader);
        var encT = EncoderTop.Unflatten(reader);
        var qcT = (Conv2dLayer)QuantizeConvTop.Unflatten(reader);
        var top = Top.Unflatten(reader);
        var decT = DecoderTop.Unflatten(reader);
        var qcB = (Conv2dLayer)QuantizeConvBottom.Unflatten(reader);
        var bottom = Bottom.Unflatten(reader);
        var up = (ConvTranspose2dLayer)UpsampleTop.Unflatten(reader);
        var dec = Decoder.Unflatten(reader);
        return this with
        {
            EncoderBottom = encB, EncoderTop = encT, QuantizeConvTop = qcT, Top = top, DecoderTop = decT,
            QuantizeConvBottom = qcB, Bottom = bottom, UpsampleTop = up, Decoder = dec,
        };
    }

    /// <summary>Every leaf name with its group, in the tree's order.</summary>
    public IReadOnlyList<(string Name, LevelGroup Group)> Groups() =>
        Tree.Leaves(this).Select(l => (l.Name, GroupOf(l.Name))).ToArray();

    /// <summary>
    /// The group of a leaf name: <c>enc_b.</c> → <see cref="LevelGroup.BottomEncoder"/> (the image encoder both
    /// levels read); <c>enc_t.</c>, <c>quantize_conv_t.</c> → <see cref="LevelGroup.TopEncoder"/>; <c>dec_t.</c>,
    /// <c>quantize_conv_b.</c> → <see cref="LevelGroup.TopDecoder"/> (top codes and bottom features → z_e,b); the
    /// codebooks; <c>upsample_t.</c>, <c>dec.</c> → <see cref="LevelGroup.Decoder"/>; EMA statistics → <see cref="LevelGroup.Buffer"/>.
    /// </summary>
    public static LevelGroup GroupOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool P(string prefix) => name.StartsWith(prefix, StringComparison.Ordinal);
        return name switch
        {
            TopCodebookName => LevelGroup.TopCodebook,
            BottomCodebookName => LevelGroup.BottomCodebook,
            _ when P("quantize_t.") || P("quantize_b.") => LevelGroup.Buffer,
            _ when P("enc_b.") => LevelGroup.BottomEncoder,
            _ when P("enc_t.") || P("quantize_conv_t.") => LevelGroup.TopEncoder,
            _ when P("dec_t.") || P("quantize_conv_b.") => LevelGroup.TopDecoder,
            _ when P("upsample_t.") || P("dec.") => LevelGroup.Decoder,
            _ => throw new ArgumentException($"vqvae2: no leaf is called '{name}'.", nameof(name)),
        };
    }

    /// <summary>The leaves by PyTorch state_dict name, in the tree's order (untracked tensors).</summary>
    public IReadOnlyDictionary<string, Tensor> ToStateDict()
    {
        var d = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var l in Tree.Leaves(this)) d.Add(l.Name, l.Value.NoDiff());
        return d;
    }

    /// <summary>
    /// A model of <paramref name="config"/>'s shape holding the tensors of <paramref name="stateDict"/>: every
    /// leaf present with its exact shape, and no other names.
    /// </summary>
    public static VqVae2Model FromStateDict(VqVae2Config config, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        // Stryker disable once Statement : equivalent, Init (next) refuses a null config with the same exception and name
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        var template = Init(config, Rng.Seed(0));
        var leaves = Tree.Leaves(template);
        var (values, missing) = StateDicts.Take(leaves, stateDict);
        if (missing.Count > 0)
            throw new ArgumentException($"state dict: missing {(missing.Count == 1 ? "key" : "keys")} {string.Join(", ", missing.Take(10).Select(m => $"'{m}'"))}.", nameof(stateDict));
        var known = leaves.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var extra = stateDict.Keys.Where(k => !known.Contains(k)).ToArray();
        if (extra.Length > 0)
            throw new ArgumentException($"state dict: unexpected {(extra.Length == 1 ? "key" : "keys")} {string.Join(", ", extra.Take(10).Select(m => $"'{m}'"))}.", nameof(stateDict));
        return Tree.FromLeaves(template, values.Select((v, i) => v ?? leaves[i].Value).ToArray()); // none is missing here
    }
}

/// <summary>The parts of a VQ-VAE-2 that its routing properties tell apart.</summary>
public enum LevelGroup
{
    /// <summary>enc_b: image → bottom features, which both levels read.</summary>
    BottomEncoder,
    /// <summary>enc_t, quantize_conv_t: bottom features → z_e,t.</summary>
    TopEncoder,
    /// <summary>quantize_t.embedding.weight.</summary>
    TopCodebook,
    /// <summary>dec_t, quantize_conv_b: the top level's decoder input and the bottom features → z_e,b.</summary>
    TopDecoder,
    /// <summary>quantize_b.embedding.weight.</summary>
    BottomCodebook,
    /// <summary>upsample_t, dec: both levels' codes → image.</summary>
    Decoder,
    /// <summary>EMA statistics (never differentiated).</summary>
    Buffer,
}
