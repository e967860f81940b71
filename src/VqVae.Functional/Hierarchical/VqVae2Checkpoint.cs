using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using VqVae.Functional.Checkpoints;
using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// VQ-VAE-2 checkpoints: safetensors files with the model's PyTorch <c>state_dict</c> names (<see cref="VqVae2Model"/>),
/// the config as JSON in <c>__metadata__["config"]</c>, <c>format</c>, <c>format_version</c> as the single-level
/// files, and <c>model</c> = <c>vqvae2</c>, which tells the two kinds apart. Written atomically.
/// </summary>
/// <example><code>
/// VqVae2Checkpoint.Save("model.safetensors", model);
/// var back = VqVae2Checkpoint.Load("model.safetensors");
/// </code></example>
public static class VqVae2Checkpoint
{
    /// <summary>Metadata value of <c>model</c> in a VQ-VAE-2 checkpoint.</summary>
    public const string ModelKind = "vqvae2";

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (a temporary file, then a rename).</summary>
    public static void Save(string path, VqVae2Model model)
    {
        ArgumentException.ThrowIfNullOrEmpty(path); ArgumentNullException.ThrowIfNull(model);
        var entries = model.ToStateDict().Select(kv => new SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray())).ToArray();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Checkpoint.FormatName,
            ["format_version"] = Checkpoint.FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["model"] = ModelKind,
            ["config"] = ConfigToJson(model.Config),
        };
        SafeTensors.Write(path, entries, metadata);
    }

    /// <summary>True when the file at <paramref name="path"/> is a safetensors file whose metadata says <c>model</c> = <c>vqvae2</c> (false for anything else, unreadable files included).</summary>
    public static bool IsVqVae2(string path)
    {
        try { return IsVqVae2(SafeTensors.Read(path)); }
        catch (Exception e) when (e is SafeTensorsFormatException or IOException or UnauthorizedAccessException) { return false; }
    }

    internal static bool IsVqVae2(SafeTensorsFile file) =>
        file.Metadata.TryGetValue("model", out var kind) && kind == ModelKind;

    /// <summary>The VQ-VAE-2 in the file at <paramref name="path"/>; <paramref name="beta"/>, when given, replaces the stored β.</summary>
    /// <exception cref="CheckpointException">The file is missing or corrupt, not a VQ-VAE-2 checkpoint, or its tensors do not fit its config.</exception>
    public static VqVae2Model Load(string path, float? beta = null)
    {
        // Stryker disable once Statement : equivalent, CheckpointFile.Read (SafeTensors.Read) refuses a null or empty path with the same exception ("path") first
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = CheckpointFile.Read(path);
        if (!IsVqVae2(file))
            throw new CheckpointException(path, "is not a VQ-VAE-2 checkpoint (its metadata lacks model = vqvae2); a single-level model loads with Checkpoint.Load.");
        if (file.Metadata.TryGetValue("format_version", out var v) && (!int.TryParse(v, out int version) || version > Checkpoint.FormatVersion || version < 1))
            throw new CheckpointException(path, $"format version '{v}' is not one this library reads (1 to {Checkpoint.FormatVersion}).");
        if (!file.Metadata.TryGetValue("config", out var json))
            throw new CheckpointException(path, "has no config in its metadata.");
        VqVae2Config config;
        try
        {
            config = ConfigFromJson(json);
            if (beta is { } b) config = config with { Beta = b };
            config.Validate();
        }
        catch (ArgumentException e) { throw new CheckpointException(path, ArgumentMessages.Bare(e), e); }
        // The config must describe about the values the file holds before a model of its size is built.
        long held = file.Entries.Sum(e => (long)e.Data.Length);
        double needed = ParameterCount(config);
        if (needed > 2.0 * held + (1 << 20))
            throw new CheckpointException(path, string.Create(CultureInfo.InvariantCulture,
                $"its config describes a model of {needed:G4} values, but the file holds {held}; it does not fit the tensors."));
        foreach (var e in file.Entries)
            if (e.Data.Any(f => !float.IsFinite(f)))
                throw new CheckpointException(path, $"tensor '{e.Name}' holds non-finite values; a checkpoint must hold finite weights.");
        var dict = file.Entries.ToDictionary(e => e.Name, e => Tensor.FromArray(e.Data, e.Shape), StringComparer.Ordinal);
        try { return VqVae2Model.FromStateDict(config, dict); }
        catch (ArgumentException e) { throw new CheckpointException(path, ArgumentMessages.Bare(e), e); }
    }

    /// <summary>The config as the JSON stored in checkpoints (enums by name).</summary>
    public static string ConfigToJson(VqVae2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return JsonSerializer.Serialize(config, Json);
    }

    /// <summary>A config from <see cref="ConfigToJson"/>'s text; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static VqVae2Config ConfigFromJson(string json)
    {
        // Stryker disable once Statement : equivalent, JsonSerializer.Deserialize refuses a null json with the same ArgumentNullException ("json"), which the catch below does not take
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<VqVae2Config>(json, Json)?.Validate()
                ?? throw new ArgumentException("vqvae2 config: the JSON is null.", nameof(json));
        }
        catch (JsonException e) { throw new ArgumentException($"vqvae2 config: not valid JSON ({e.Message}).", nameof(json), e); }
    }

    /// <summary>The number of values (weights and buffers) a model of <paramref name="c"/> holds, as a double so that absurd configs do not overflow.</summary>
    public static double ParameterCount(VqVae2Config c)
    {
        ArgumentNullException.ThrowIfNull(c);
        double C = c.Channels, h = c.Hidden, h2 = Math.Max(1, c.Hidden / 2), D = c.CodeDim, n = c.ResidualLayers, r = c.ResidualChannels;
        double res = n * (h * r * 9 + r + r * h + h);
        double encB = C * h2 * 16 + h2 + h2 * h * 16 + h + h * h * 9 + h + res;
        double encT = h * h2 * 16 + h2 + h2 * h * 9 + h + res;
        double qcT = h * D + D, decT = D * h * 9 + h + res + h * D * 16 + D, qcB = (D + h) * D + D, up = D * D * 16 + D;
        double dec = 2 * D * h * 9 + h + res + h * h2 * 16 + h2 + h2 * C * 16 + C;
        double perCode = c.Quantizer == Model.QuantizerKind.Ema ? 2 * D + 1 : D;
        return encB + encT + qcT + decT + qcB + up + dec + (c.TopCodebookSize + (double)c.BottomCodebookSize) * perCode;
    }
}
