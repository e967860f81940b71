using System.Globalization;

namespace VqVae.Functional.Model;

/// <summary>The reconstruction term of the loss (DESIGN §4).</summary>
public enum ReconstructionLoss
{
    /// <summary>mean((x̂ − x)²).</summary>
    Mse,
    /// <summary>Binary cross-entropy, mean over elements, logs clamped at −100 like PyTorch (x̂ must lie in [0, 1]).</summary>
    Bce,
    /// <summary>mean((x̂ − x)²) / var(x), the variance of the batch (Sonnet's normalised MSE).</summary>
    MseOverVariance,
}

/// <summary>How the codebook learns.</summary>
public enum QuantizerKind
{
    /// <summary>Straight-through quantizer: the codebook learns from the codebook loss term by gradient.</summary>
    Straight,
    /// <summary>Exponential moving averages: the codebook gets no gradient; it is updated from EMA cluster statistics.</summary>
    Ema,
}

/// <summary>Which encoder/decoder stack <see cref="VqVaeModel.Init"/> builds (DESIGN §4).</summary>
public enum Architecture
{
    /// <summary>Conv(C,h,4,s2,p1)·ReLU·Conv(h,h,4,s2,p1)·ReLU·Conv(h,D,3,s1,p1); decoder Conv(D,h,3)·ReLU·ConvT(h,h,4,s2,p1)·ReLU·ConvT(h,C,4,s2,p1)·Sigmoid.</summary>
    Reference,
    /// <summary>The mnistSmall stack: 3×3 stride-2 convs to h/2 and h, a 1×1 conv to D, mirrored with 3×3 transposed convs; no output activation.</summary>
    Compact,
    /// <summary>The paper's stack: two stride-2 4×4 convs, a residual stack, a 1×1 conv to D; mirrored with a 3×3 conv, a residual stack and 4×4 transposed convs.</summary>
    Residual,
}

/// <summary>
/// Everything that decides a VQ-VAE's shapes and loss. Immutable; start from a preset and override
/// with <c>with</c>. <see cref="Validate"/> (called by <see cref="VqVaeModel.Init"/>) rejects bad values
/// with a message naming the field.
/// </summary>
/// <param name="Channels">Image channels C.</param>
/// <param name="Hidden">Hidden channels h of the encoder and decoder.</param>
/// <param name="CodebookSize">Number of codes K.</param>
/// <param name="CodeDim">Code dimension D (channels of z_e).</param>
/// <param name="Beta">Commitment weight β ≥ 0.</param>
/// <param name="Reconstruction">The reconstruction term.</param>
/// <param name="Quantizer">Gradient-trained codebook or EMA codebook.</param>
/// <param name="ResidualLayers">Residual blocks per stack (used by <see cref="Architecture.Residual"/>).</param>
/// <param name="Preset">A label stored with checkpoints ("mnist", "mnistSmall", "paper", "small", "custom").</param>
/// <param name="EmaDecay">EMA decay γ in (0, 1).</param>
/// <param name="EmaEpsilon">Laplace smoothing ε &gt; 0 of the EMA cluster sizes.</param>
/// <param name="Architecture">Which encoder/decoder stack to build.</param>
/// <param name="ResidualHidden">Inner channels of a residual block's 3×3 conv; 0 means <see cref="Hidden"/>.</param>
/// <param name="InputShift">The input pixel range: added to pixels in [0, 1] before the encoder and subtracted from the
/// decoder's output, inside the model (<see cref="VqVaeModel.Encode"/>, <see cref="VqVaeModel.LossTerms"/>, …),
/// so every caller feeds and gets pixels. 0 for the reference model (its decoder ends in a sigmoid), −0.5 for mnistSmall and paper (DESIGN §4).</param>
/// <example><code>
/// var cfg = VqVaeConfig.Mnist with { CodebookSize = 256, Beta = 0.5f };
/// var model = VqVaeModel.Init(cfg, Rng.Seed(42));
/// </code></example>
public sealed record VqVaeConfig(
    int Channels,
    int Hidden,
    int CodebookSize,
    int CodeDim,
    float Beta,
    ReconstructionLoss Reconstruction = ReconstructionLoss.Mse,
    QuantizerKind Quantizer = QuantizerKind.Straight,
    int ResidualLayers = 0,
    string Preset = "custom",
    float EmaDecay = 0.99f,
    float EmaEpsilon = 1e-5f,
    Architecture Architecture = Architecture.Reference,
    int ResidualHidden = 0,
    float InputShift = 0f)
{
    /// <summary>The reference model (DESIGN §4): C=1, h=128, K=512, D=64, β=0.25, MSE, 28×28 → 7×7 latents.</summary>
    public static VqVaeConfig Mnist { get; } = new(1, 128, 512, 64, 0.25f, Preset: "mnist");

    /// <summary>The reference architecture at test size (h=8, K=16, D=4), as in the vqvae_small fixture.</summary>
    public static VqVaeConfig Small { get; } = new(1, 8, 16, 4, 0.25f, Preset: "small");

    /// <summary>mnistSmall (DESIGN §4): 3×3 convs 1→32→64→D, K=128, D=16, no output activation, recon = MSE / var(x), inputs in [−0.5, 0.5].</summary>
    public static VqVaeConfig MnistSmall { get; } = new(1, 64, 128, 16, 0.25f, ReconstructionLoss.MseOverVariance,
        Preset: "mnistSmall", Architecture: Architecture.Compact, InputShift: -0.5f);

    /// <summary>The paper's model (van den Oord et al. 2017): h=256, K=512, D=64, two residual blocks per stack, no output activation.</summary>
    public static VqVaeConfig Paper { get; } = new(1, 256, 512, 64, 0.25f, ReconstructionLoss.MseOverVariance,
        ResidualLayers: 2, Preset: "paper", Architecture: Architecture.Residual, InputShift: -0.5f);

    /// <summary>The preset with this name ("mnist", "mnistSmall", "paper", "small"; case-insensitive, '-' and '_' ignored).</summary>
    public static VqVaeConfig ByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "mnist" => Mnist,
            "mnistsmall" => MnistSmall,
            "paper" => Paper,
            "small" => Small,
            _ => throw new ArgumentException($"config: unknown preset '{name}'; expected one of mnist, mnistSmall, paper, small.", nameof(name)),
        };
    }

    /// <summary>Inner channels of the residual blocks (<see cref="ResidualHidden"/>, or <see cref="Hidden"/> when 0).</summary>
    public int ResidualChannels => ResidualHidden > 0 ? ResidualHidden : Hidden;

    /// <summary>How much the encoder shrinks each side of the image (4 for every architecture here).</summary>
    public int Downsampling => 4;

    /// <summary>The output activation of the decoder: Sigmoid for <see cref="Architecture.Reference"/>, none otherwise.</summary>
    public bool SigmoidOutput => Architecture == Architecture.Reference;

    /// <summary>The input shift a checkpoint written before <see cref="InputShift"/> was stored implies: what the
    /// command line applied then (0 with a sigmoid output, −0.5 otherwise).</summary>
    public float ImpliedInputShift => SigmoidOutput ? 0f : -0.5f;

    /// <summary>A copy with the given fields replaced (C#'s <c>with</c> for F# and other callers: name only what changes).</summary>
    /// <example><code>let cfg = VqVaeConfig.Mnist.With(beta = 0.37f, codebookSize = 256)   // F#</code></example>
    public VqVaeConfig With(int? channels = null, int? hidden = null, int? codebookSize = null, int? codeDim = null, float? beta = null,
        ReconstructionLoss? reconstruction = null, QuantizerKind? quantizer = null, int? residualLayers = null, string? preset = null,
        float? emaDecay = null, float? emaEpsilon = null, Architecture? architecture = null, int? residualHidden = null, float? inputShift = null) =>
        this with
        {
            Channels = channels ?? Channels, Hidden = hidden ?? Hidden, CodebookSize = codebookSize ?? CodebookSize,
            CodeDim = codeDim ?? CodeDim, Beta = beta ?? Beta, Reconstruction = reconstruction ?? Reconstruction,
            Quantizer = quantizer ?? Quantizer, ResidualLayers = residualLayers ?? ResidualLayers, Preset = preset ?? Preset,
            EmaDecay = emaDecay ?? EmaDecay, EmaEpsilon = emaEpsilon ?? EmaEpsilon, Architecture = architecture ?? Architecture,
            ResidualHidden = residualHidden ?? ResidualHidden, InputShift = inputShift ?? InputShift,
        };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field, its allowed range and its value.</summary>
    public VqVaeConfig Validate()
    {
        static void Check(bool ok, string field, string rule, object value)
        {
            if (!ok) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"config: {field} must be {rule}, got {value}."), field);
        }
        Check(Channels >= 1, nameof(Channels), "≥ 1", Channels);
        Check(Hidden >= 1, nameof(Hidden), "≥ 1", Hidden);
        Check(CodebookSize >= 1, nameof(CodebookSize), "≥ 1 (K, the number of codes)", CodebookSize);
        Check(CodeDim >= 1, nameof(CodeDim), "≥ 1 (D, the code dimension)", CodeDim);
        Check(float.IsFinite(Beta) && Beta >= 0, nameof(Beta), "finite and ≥ 0", Beta);
        Check(Enum.IsDefined(Reconstruction), nameof(Reconstruction), "Mse, Bce or MseOverVariance", Reconstruction);
        Check(Enum.IsDefined(Quantizer), nameof(Quantizer), "Straight or Ema", Quantizer);
        Check(Enum.IsDefined(Architecture), nameof(Architecture), "Reference, Compact or Residual", Architecture);
        Check(ResidualLayers >= 0, nameof(ResidualLayers), "≥ 0", ResidualLayers);
        Check(ResidualHidden >= 0, nameof(ResidualHidden), "≥ 0 (0 means Hidden)", ResidualHidden);
        Check(EmaDecay > 0 && EmaDecay < 1, nameof(EmaDecay), "in (0, 1)", EmaDecay);
        Check(EmaEpsilon > 0 && float.IsFinite(EmaEpsilon), nameof(EmaEpsilon), "finite and > 0", EmaEpsilon);
        Check(Architecture != Architecture.Compact || Hidden >= 2, nameof(Hidden), "≥ 2 for the Compact architecture (its first conv has h/2 channels)", Hidden);
        Check(float.IsFinite(InputShift) && Math.Abs(InputShift) <= 1f, nameof(InputShift), "finite and in [−1, 1]", InputShift);
        Check(Reconstruction != ReconstructionLoss.Bce || InputShift == 0f, nameof(InputShift),
            "0 with the BCE reconstruction (its targets must be pixels in [0, 1] as the decoder sees them)", InputShift);
        Check(Preset is not null, nameof(Preset), "a name", "null");
        return this;
    }
}
