using System.Globalization;
using VqVae.Functional.Model;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// Everything that decides a VQ-VAE-2's shapes and loss (Razavi et al. 2019): a bottom level at 1/4
/// of the image side and a top level at 1/8, each with its own codebook of <see cref="CodeDim"/>-wide codes.
/// Immutable; start from <see cref="Mnist"/> and override with <c>with</c> or <see cref="With"/>.
/// </summary>
/// <remarks>
/// Image sides need not be multiples of 8: <see cref="VqVae2Model"/> pads the image with black pixels
/// (value 0) up to the next multiple of 8, split evenly with the odd pixel at the bottom/right, and crops the
/// reconstruction back. A 28×28 digit is seen as 32×32, so its grids are 8×8 (bottom) and 4×4 (top):
/// every level is exactly twice the one above it, as the top decoder, the upsampler and a bottom
/// prior conditioned on the top grid need. Any side ≥ 1 is accepted (30 → 32, 33 → 40).
/// </remarks>
/// <param name="Channels">Image channels C.</param>
/// <param name="Hidden">Hidden channels h of the encoders and decoders.</param>
/// <param name="TopCodebookSize">K_t, codes of the top level.</param>
/// <param name="BottomCodebookSize">K_b, codes of the bottom level.</param>
/// <param name="CodeDim">D, the width of the codes of both levels.</param>
/// <param name="Beta">Commitment weight β ≥ 0 (the same at both levels).</param>
/// <param name="ResidualLayers">Residual blocks in each encoder and decoder stack.</param>
/// <param name="ResidualHidden">Inner channels of a residual block; 0 means h/2.</param>
/// <param name="Reconstruction">The reconstruction term.</param>
/// <param name="Quantizer">Gradient-trained codebooks or EMA codebooks (both levels alike).</param>
/// <param name="EmaDecay">EMA decay γ in (0, 1).</param>
/// <param name="EmaEpsilon">Laplace smoothing ε &gt; 0 of the EMA cluster sizes.</param>
/// <param name="InputShift">Added to pixels in [0, 1] before the encoder and subtracted from the decoder's output (−0.5: inputs in [−0.5, 0.5]).</param>
/// <param name="Preset">A label stored with checkpoints ("vqvae2", "custom").</param>
public sealed record VqVae2Config(
    int Channels,
    int Hidden,
    int TopCodebookSize,
    int BottomCodebookSize,
    int CodeDim,
    float Beta,
    int ResidualLayers = 1,
    int ResidualHidden = 0,
    ReconstructionLoss Reconstruction = ReconstructionLoss.Mse,
    QuantizerKind Quantizer = QuantizerKind.Straight,
    float EmaDecay = 0.99f,
    float EmaEpsilon = 1e-5f,
    float InputShift = -0.5f,
    string Preset = "custom")
{
    /// <summary>The <c>vqvae2</c> preset, sized for 28×28 and 32×32 greyscale images: h = 64, one residual
    /// block of 32 per stack, K_t = K_b = 128, D = 32, β = 0.25, MSE, inputs in [−0.5, 0.5]; grids 8×8 and 4×4.</summary>
    public static VqVae2Config Mnist { get; } = new(1, 64, 128, 128, 32, 0.25f, Preset: "vqvae2");

    /// <summary>The preset called <paramref name="name"/>: "vqvae2" (case-insensitive, '-' and '_' ignored).</summary>
    public static VqVae2Config ByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return IsName(name) ? Mnist
            : throw new ArgumentException($"config: unknown VQ-VAE-2 preset '{name}'; expected vqvae2.", nameof(name));
    }

    /// <summary>True when <paramref name="name"/> names a VQ-VAE-2 preset.</summary>
    public static bool IsName(string? name) =>
        name is not null && name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).Equals("vqvae2", StringComparison.OrdinalIgnoreCase);

    /// <summary>Inner channels of the residual blocks (<see cref="ResidualHidden"/>, or h/2 when 0).</summary>
    public int ResidualChannels => ResidualHidden > 0 ? ResidualHidden : Math.Max(1, Hidden / 2);

    /// <summary>The side an image of side <paramref name="side"/> is padded to: the next multiple of 8.</summary>
    public static int PaddedSide(int side) => (side + 7) / 8 * 8;

    /// <summary>The bottom grid (1/4 of the padded image) and the top grid (1/8) for images H×W.</summary>
    public static (int BottomHeight, int BottomWidth, int TopHeight, int TopWidth) GridsFor(int height, int width) =>
        (PaddedSide(height) / 4, PaddedSide(width) / 4, PaddedSide(height) / 8, PaddedSide(width) / 8);

    /// <summary>A copy with the given fields replaced (for F# and other callers: name only what changes).</summary>
    public VqVae2Config With(int? channels = null, int? hidden = null, int? topCodebookSize = null, int? bottomCodebookSize = null,
        int? codeDim = null, float? beta = null, int? residualLayers = null, int? residualHidden = null,
        ReconstructionLoss? reconstruction = null, QuantizerKind? quantizer = null, string? preset = null) =>
        this with
        {
            Channels = channels ?? Channels, Hidden = hidden ?? Hidden, TopCodebookSize = topCodebookSize ?? TopCodebookSize,
            BottomCodebookSize = bottomCodebookSize ?? BottomCodebookSize, CodeDim = codeDim ?? CodeDim, Beta = beta ?? Beta,
            ResidualLayers = residualLayers ?? ResidualLayers, ResidualHidden = residualHidden ?? ResidualHidden,
            Reconstruction = reconstruction ?? Reconstruction, Quantizer = quantizer ?? Quantizer, Preset = preset ?? Preset,
        };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field, its allowed range and its value.</summary>
    public VqVae2Config Validate()
    {
        static void Check(bool ok, string field, string rule, object value)
        {
            if (!ok) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"vqvae2 config: {field} must be {rule}, got {value}."), field);
        }
        Check(Channels >= 1, nameof(Channels), "≥ 1", Channels);
        Check(Hidden >= 2, nameof(Hidden), "≥ 2 (the first conv has h/2 channels)", Hidden);
        Check(TopCodebookSize >= 1, nameof(TopCodebookSize), "≥ 1 (K_t)", TopCodebookSize);
        Check(BottomCodebookSize >= 1, nameof(BottomCodebookSize), "≥ 1 (K_b)", BottomCodebookSize);
        Check(CodeDim >= 1, nameof(CodeDim), "≥ 1 (D)", CodeDim);
        Check(float.IsFinite(Beta) && Beta >= 0, nameof(Beta), "finite and ≥ 0", Beta);
        Check(ResidualLayers >= 0, nameof(ResidualLayers), "≥ 0", ResidualLayers);
        Check(ResidualHidden >= 0, nameof(ResidualHidden), "≥ 0 (0 means h/2)", ResidualHidden);
        Check(Reconstruction is ReconstructionLoss.Mse or ReconstructionLoss.MseOverVariance, nameof(Reconstruction),
            "Mse or MseOverVariance (the decoder has no sigmoid for BCE)", Reconstruction);
        Check(Enum.IsDefined(Quantizer), nameof(Quantizer), "Straight or Ema", Quantizer);
        Check(EmaDecay > 0 && EmaDecay < 1, nameof(EmaDecay), "in (0, 1)", EmaDecay);
        Check(EmaEpsilon > 0 && float.IsFinite(EmaEpsilon), nameof(EmaEpsilon), "finite and > 0", EmaEpsilon);
        Check(float.IsFinite(InputShift) && Math.Abs(InputShift) <= 1f, nameof(InputShift), "finite and in [−1, 1]", InputShift);
        Check(Preset is not null, nameof(Preset), "a name", "null");
        return this;
    }
}
