using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>
/// The shape of a Gated PixelCNN prior over a grid of code indices (DESIGN §4 Generation).
/// </summary>
/// <param name="CodebookSize">K: the number of codes (classes per position).</param>
/// <param name="Height">Grid height (latent rows).</param>
/// <param name="Width">Grid width (latent columns).</param>
/// <param name="Channels">F: feature channels of both stacks (the gates use 2F).</param>
/// <param name="Layers">Gated layers; the first uses mask A, the rest mask B.</param>
/// <param name="Kernel">Odd kernel size k; each layer widens the receptive field by k/2 in every direction.</param>
/// <param name="Classes">Number of class labels for class conditioning (0: unconditional).</param>
/// <param name="ConditionCodes">K of a code grid the prior is conditioned on (VQ-VAE-2's top codes for the bottom prior; 0: none).</param>
/// <param name="ConditionHeight">Height of the conditioning grid (Height must be a multiple of it).</param>
/// <param name="ConditionWidth">Width of the conditioning grid (Width must be a multiple of it).</param>
public sealed record PriorConfig(int CodebookSize, int Height, int Width, int Channels = 64, int Layers = 8, int Kernel = 3,
    int Classes = 0, int ConditionCodes = 0, int ConditionHeight = 0, int ConditionWidth = 0)
{
    /// <summary>Positions per grid, H·W.</summary>
    public int Positions => Height * Width;
    /// <summary>True when the prior takes a code grid as a condition.</summary>
    public bool HasGridCondition => ConditionCodes > 0;
    /// <summary>True when the prior takes a class label per sample.</summary>
    public bool HasClassCondition => Classes > 0;

    /// <summary>A small default for a latent grid of K codes: 64 channels, 8 layers, 3×3 kernels.</summary>
    public static PriorConfig For(int codebookSize, int height, int width) => new(codebookSize, height, width);

    /// <summary>Throws naming the first field that is out of range.</summary>
    public PriorConfig Validate()
    {
        static void Pos(string name, int v) { if (v < 1) throw new ArgumentException($"prior config: {name} must be ≥ 1, got {v}.", name); }
        Pos(nameof(CodebookSize), CodebookSize); Pos(nameof(Height), Height); Pos(nameof(Width), Width);
        Pos(nameof(Channels), Channels); Pos(nameof(Layers), Layers); Pos(nameof(Kernel), Kernel);
        if (Kernel % 2 == 0) throw new ArgumentException($"prior config: Kernel must be odd (a centre tap), got {Kernel}.", nameof(Kernel));
        if (Classes < 0) throw new ArgumentException($"prior config: Classes must be ≥ 0, got {Classes}.", nameof(Classes));
        if (ConditionCodes < 0) throw new ArgumentException($"prior config: ConditionCodes must be ≥ 0, got {ConditionCodes}.", nameof(ConditionCodes));
        if (HasGridCondition)
        {
            Pos(nameof(ConditionHeight), ConditionHeight); Pos(nameof(ConditionWidth), ConditionWidth);
            if (Height % ConditionHeight != 0 || Width % ConditionWidth != 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"prior config: the grid {Height}×{Width} must be a whole multiple of the condition grid {ConditionHeight}×{ConditionWidth}."), nameof(ConditionHeight));
        }
        return this;
    }

    /// <summary>The config as JSON (a prior checkpoint's metadata).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this);

    /// <summary>A config from <see cref="ToJson"/>'s text; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static PriorConfig FromJson(string json)
    {
        // Stryker disable once Statement : Deserialize refuses a null string itself, with the same exception and name (json)
        ArgumentNullException.ThrowIfNull(json);
        PriorConfig? c;
        try { c = System.Text.Json.JsonSerializer.Deserialize<PriorConfig>(json); }
        catch (System.Text.Json.JsonException e) { throw new ArgumentException($"prior config: not valid JSON ({e.Message}).", nameof(json), e); }
        return (c ?? throw new ArgumentException("prior config: the JSON is null.", nameof(json))).Validate();
    }
}
