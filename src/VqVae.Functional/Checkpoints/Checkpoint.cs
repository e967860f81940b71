using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Checkpoints;

/// <summary>A checkpoint read back: the model, whether its config came from the file's metadata, and what was assumed.</summary>
/// <param name="Model">The model.</param>
/// <param name="FromMetadata">True when the config came from <c>__metadata__["config"]</c>, false when it was inferred from the tensors.</param>
/// <param name="Assumptions">Settings that could not be read or inferred, with the value taken (empty for our own files).</param>
public sealed record LoadedCheckpoint(VqVaeModel Model, bool FromMetadata, IReadOnlyList<string> Assumptions)
{
    /// <summary>The file's <c>__metadata__</c> as it was read (config, format, and for a training checkpoint its step and run).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Model checkpoints as safetensors files (DESIGN §6): float32 tensors under PyTorch state_dict
/// names (<c>encoder.0.weight</c>, …, <c>vq.embedding.weight</c>, <c>decoder.*</c>, and
/// <c>vq.cluster_size</c>, <c>vq.ema_w</c> with EMA), the config as JSON in
/// <c>__metadata__["config"]</c> with <c>format</c> and <c>format_version</c>, written atomically.
/// Files saved by PyTorch without our metadata load too: the architecture is inferred from the
/// tensor names and shapes.
/// </summary>
/// <example><code>
/// Checkpoint.Save("model.safetensors", model);
/// var back = Checkpoint.Load("model.safetensors");
/// var fromTorch = Checkpoint.Read("torch.safetensors", beta: 0.25f);   // .Assumptions says what was guessed
/// </code></example>
public static class Checkpoint
{
    /// <summary>Metadata value of <c>format</c> in our files.</summary>
    public const string FormatName = "vqvae-functional";
    /// <summary>The format version written, and the newest one read.</summary>
    public const int FormatVersion = 1;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (atomically: a temporary file, then a rename).</summary>
    public static void Save(string path, VqVaeModel model) => Save(path, model, null);

    /// <summary>
    /// Like <see cref="Save(string, VqVaeModel)"/>, with more metadata entries (e.g. a training checkpoint's
    /// <c>step</c> and <c>run</c>); they may not replace <c>format</c>, <c>format_version</c> or <c>config</c>.
    /// </summary>
    public static void Save(string path, VqVaeModel model, IReadOnlyDictionary<string, string>? extraMetadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Stryker disable once Statement : equivalent, Encode (called next, before anything is written) refuses a null model with the same ArgumentNullException, named "model"
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.WriteAllBytes(path, Encode(model, extraMetadata));
    }

    /// <summary>The safetensors bytes <see cref="Save(string, VqVaeModel, IReadOnlyDictionary{string, string})"/> writes.</summary>
    public static byte[] Encode(VqVaeModel model, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var entries = model.ToStateDict().Select(kv => new SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray())).ToArray();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["config"] = ConfigJson.Write(model.Config),
        };
        foreach (var (key, value) in extraMetadata ?? new Dictionary<string, string>())
            if (!metadata.TryAdd(key, value))
                throw new ArgumentException($"checkpoint: the metadata key '{key}' is the checkpoint's own; choose another.", nameof(extraMetadata));
        return SafeTensors.Encode(entries, metadata);
    }

    /// <summary>
    /// The model in the file at <paramref name="path"/>; <paramref name="beta"/>, when given, replaces the stored or default β.
    /// With <paramref name="strict"/> (default) every tensor must be a leaf of the model; without it,
    /// other tensors are ignored and missing EMA buffers start as a new model's would.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing, truncated or corrupt, or its tensors do not fit the config.</exception>
    public static VqVaeModel Load(string path, float? beta = null, bool strict = true) => Read(path, beta, strict).Model;

    /// <summary>Like <see cref="Load"/>, returning false and the error instead of throwing (F#: <c>let ok, model, error = Checkpoint.TryLoad path</c>).</summary>
    public static bool TryLoad(string path, out VqVaeModel? model, out CheckpointException? error) => TryLoad(path, null, out model, out error);

    /// <summary>Like <see cref="Load"/> with β, returning false and the error instead of throwing.</summary>
    public static bool TryLoad(string path, float? beta, out VqVaeModel? model, out CheckpointException? error)
    {
        try { (model, error) = (Read(path, beta).Model, null); return true; }
        catch (CheckpointException e) { (model, error) = (null, e); return false; }
    }

    /// <summary>The model in the file, whether its config came from metadata, and what had to be assumed.</summary>
    /// <exception cref="CheckpointException">The file is missing, truncated or corrupt, or its tensors do not fit the config.</exception>
    public static LoadedCheckpoint Read(string path, float? beta = null, bool strict = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = CheckpointFile.Read(path);

        if (Hierarchical.VqVae2Checkpoint.IsVqVae2(file))
            throw new CheckpointException(path, "is a VQ-VAE-2 checkpoint (model = vqvae2); load it with VqVae2Checkpoint.Load.");
        if (file.Metadata.TryGetValue("format_version", out var v) && (!int.TryParse(v, out int version) || version > FormatVersion || version < 1))
            throw new CheckpointException(path, $"format version '{v}' is not one this library reads (1 to {FormatVersion}).");

        var shapes = file.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        VqVaeConfig config;
        IReadOnlyList<string> assumptions;
        bool fromMetadata = file.Metadata.TryGetValue("config", out var json);
        try
        {
            if (fromMetadata)
            {
                // Fields the JSON lacks (a fixture-style config) come from the tensors where they can.
                VqVaeConfig fallback;
                try { fallback = ArchitectureInference.Infer(shapes).Config; } catch (FormatException) { fallback = VqVaeConfig.Mnist; }
                config = ConfigJson.Read(json!, fallback);
                if (beta is { } b) config = config with { Beta = b };
                assumptions = [];
            }
            else
            {
                var inferred = ArchitectureInference.Infer(shapes, beta);
                (config, assumptions) = (inferred.Config, inferred.Assumptions);
            }
            config.Validate();
        }
        catch (FormatException e) { throw new CheckpointException(path, e.Message, e); }
        catch (ArgumentException e) { throw new CheckpointException(path, e.Message, e); }

        CheckFits(path, config, file, strict, fromMetadata);
        CheckFinite(path, file);
        var dict = file.Entries.ToDictionary(e => e.Name, e => Tensor.FromArray(e.Data, e.Shape), StringComparer.Ordinal);
        try { return new(VqVaeModel.FromStateDict(config, dict, strict), fromMetadata, assumptions) { Metadata = file.Metadata }; }
        catch (ArgumentException e)
        {
            var source = fromMetadata ? "read from its metadata" : "inferred from its tensors";
            var problem = ArgumentMessages.Bare(e);
            throw new CheckpointException(path, $"{problem} The config ({source}) is {ConfigJson.Write(config)}.", e);
        }
    }

    // Every leaf of the model must be in the file with its exact shape, so a config whose model holds
    // far more values than the file cannot fit it. Checked from the config alone, before any model (and
    // its memory) is built: a 13 KB file saying hidden = 100000000 is refused here, not after 5 GB.
    private static void CheckFits(string path, VqVaeConfig config, SafeTensorsFile file, bool strict, bool fromMetadata)
    {
        long held = 0;
        foreach (var e in file.Entries) held += e.Data.Length;
        var counted = strict ? config : config with { Quantizer = QuantizerKind.Straight }; // non-strict: EMA buffers may be missing
        long needed = ModelSize.ValuesSaturated(counted);
        // Small mismatches (a missing tensor, a wrong shape) fall through to FromStateDict, which names
        // the tensor; a template of at most 2× the file's values plus 1 M is a bounded cost.
        if (needed <= 2 * held + (1L << 20)) return;
        var source = fromMetadata ? "read from its metadata" : "inferred from its tensors";
        string size = needed == long.MaxValue ? "more than 2^63" : needed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        throw new CheckpointException(path,
            $"the config ({source}: channels {config.Channels}, hidden {config.Hidden}, codebook {config.CodebookSize}, dim {config.CodeDim}, "
            + $"residual layers {config.ResidualLayers}) describes a model of {size} values, but the file holds {held}; it does not fit the tensors.");
    }

    // A NaN or infinite weight poisons every later step; it is refused where it enters, with the file and the tensor named.
    private static void CheckFinite(string path, SafeTensorsFile file)
    {
        foreach (var e in file.Entries)
        {
            int bad = -1, count = 0;
            var data = e.Data;
            for (int i = 0; i < data.Length; i++)
                if (!float.IsFinite(data[i])) { if (bad < 0) bad = i; count++; }
            if (bad >= 0)
                throw new CheckpointException(path,
                    $"tensor '{e.Name}' holds {count} non-finite value(s) (the first, {data[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)}, at index {bad}); a checkpoint must hold finite weights.");
        }
    }
}
