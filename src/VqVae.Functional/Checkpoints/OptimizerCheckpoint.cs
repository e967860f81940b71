using System.Collections.Immutable;
using System.Globalization;
using VqVae.Functional.Optim;
using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Checkpoints;

/// <summary>An optimizer state read back from its file (<see cref="OptimizerCheckpoint.Load"/>).</summary>
/// <param name="State">The optimizer state, of the type the optimizer's <c>Init</c> makes.</param>
/// <param name="Window">The trainer's usage window saved with it (oldest step first; empty when none was saved).</param>
/// <param name="Metadata">The file's metadata (<c>optimizer</c>, <c>step</c>, and for a training checkpoint <c>run</c>).</param>
public sealed record SavedOptimizerState(OptimizerState<VqVaeModel> State, ImmutableArray<ImmutableArray<long>> Window,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The optimizer's step count (updates applied).</summary>
    public int Step => State.Step;
}

/// <summary>
/// An optimizer's state as a safetensors file, beside a model checkpoint: the state tree's leaves under
/// PyTorch's names (<c>step</c>; per parameter <c>NAME.exp_avg</c>, <c>NAME.exp_avg_sq</c>, <c>NAME.step</c>
/// for Adam, <c>NAME.momentum_buffer</c> for SGD with momentum), float32; the optimizer's kind and
/// hyperparameters in <c>__metadata__</c>; optionally the trainer's usage window as
/// <see cref="WindowKey"/> [steps, K] (per-step code counts, exact below 2²⁴), so a resumed run
/// restarts dead codes exactly as the uninterrupted one would. Written atomically.
/// </summary>
/// <example><code>
/// OptimizerCheckpoint.Save("optimizer.safetensors", adam, run.State);
/// var back = OptimizerCheckpoint.Load("optimizer.safetensors", adam, run.Model).State;
/// </code></example>
public static class OptimizerCheckpoint
{
    /// <summary>Metadata value of <c>format</c> in optimizer files.</summary>
    public const string FormatName = "vqvae-functional-optimizer";
    /// <summary>The format version written, and the newest one read.</summary>
    public const int FormatVersion = 1;
    /// <summary>Key of the trainer's usage window (not part of the optimizer state).</summary>
    public const string WindowKey = "trainer.usage_window";

    /// <summary>Writes <paramref name="state"/> (and the usage window, and more metadata) to <paramref name="path"/>, atomically.</summary>
    public static void Save(string path, IOptimizer optimizer, OptimizerState<VqVaeModel> state,
        IReadOnlyList<IReadOnlyList<long>>? window = null, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Encode(optimizer, state, window, extraMetadata));
    }

    /// <summary>The bytes <see cref="Save"/> writes.</summary>
    public static byte[] Encode(IOptimizer optimizer, OptimizerState<VqVaeModel> state,
        IReadOnlyList<IReadOnlyList<long>>? window = null, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(state);
        var entries = Tree.Leaves(state).Select(l => new SafeTensorEntry(l.Name, l.Value.Shape, l.Value.ToArray())).ToList();
        if (window is { Count: > 0 })
        {
            int k = window[0].Count;
            var data = new float[window.Count * k];
            for (int i = 0; i < window.Count; i++)
            {
                if (window[i].Count != k) throw new ArgumentException($"optimizer checkpoint: window row {i} has {window[i].Count} counts, row 0 {k}.", nameof(window));
                for (int j = 0; j < k; j++) data[i * k + j] = window[i][j];
            }
            entries.Add(new SafeTensorEntry(WindowKey, [window.Count, k], data));
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = KindOf(state),
            ["hyperparameters"] = Describe(optimizer),
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extraMetadata ?? new Dictionary<string, string>())
            if (!metadata.TryAdd(key, value))
                throw new ArgumentException($"optimizer checkpoint: the metadata key '{key}' is the file's own; choose another.", nameof(extraMetadata));
        return SafeTensors.Encode(entries, metadata);
    }

    /// <summary>
    /// The state in the file at <paramref name="path"/>, for <paramref name="optimizer"/> over <paramref name="model"/>:
    /// the file must hold the same kind of state (Adam, SGD, SGD with momentum) and exactly the leaves,
    /// names and shapes <c>optimizer.Init(model)</c> has.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing or corrupt, of another optimizer, or made for another model.</exception>
    public static SavedOptimizerState Load(string path, IOptimizer optimizer, VqVaeModel model)
    {
        ArgumentException.ThrowIfNullOrEmpty(path); ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(model);
        var file = CheckpointFile.Read(path);

        var meta = file.Metadata;
        if (meta.GetValueOrDefault("format") != FormatName)
            throw new CheckpointException(path, $"is not an optimizer state (its metadata format is '{meta.GetValueOrDefault("format") ?? "missing"}', expected '{FormatName}').");
        if (!int.TryParse(meta.GetValueOrDefault("format_version"), NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1 || version > FormatVersion)
            throw new CheckpointException(path, $"format version '{meta.GetValueOrDefault("format_version")}' is not one this library reads (1 to {FormatVersion}).");

        var template = optimizer.Init(model);
        string expected = KindOf(template), actual = meta.GetValueOrDefault("optimizer") ?? "missing";
        if (actual != expected)
            throw new CheckpointException(path, $"holds the state of optimizer '{actual}', but this run's optimizer is '{expected}'; resume with the optimizer that saved it, or start without its state.");

        var byName = file.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var leaves = Tree.Leaves(template);
        var missing = leaves.Where(l => !byName.ContainsKey(l.Name)).Select(l => l.Name).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(path, $"lacks the state '{missing[0]}'{More(missing.Count)}; it was saved for another model (the model's parameters are {Tree.Leaves(model).Count}).");
        // Stryker disable once Linq : equivalent, the names only fill a set; Prepend and Append give the same set
        var known = leaves.Select(l => l.Name).Append(WindowKey).ToHashSet(StringComparer.Ordinal);
        var extra = file.Entries.Where(e => !known.Contains(e.Name)).Select(e => e.Name).ToList();
        if (extra.Count > 0)
            throw new CheckpointException(path, $"holds '{extra[0]}'{More(extra.Count)}, which is no state of this model's optimizer; it was saved for another model.");
        var values = new Tensor[leaves.Count];
        for (int i = 0; i < leaves.Count; i++)
        {
            var e = byName[leaves[i].Name];
            if (!e.Shape.AsSpan().SequenceEqual(leaves[i].Value.Shape))
                throw new CheckpointException(path, $"'{e.Name}' has shape [{string.Join(",", e.Shape)}], but the model needs [{string.Join(",", leaves[i].Value.Shape)}]; it was saved for another model.");
            int bad = Array.FindIndex(e.Data, v => !float.IsFinite(v));
            if (bad >= 0)
                throw new CheckpointException(path, $"'{e.Name}' holds a non-finite value ({e.Data[bad].ToString(CultureInfo.InvariantCulture)}) at index {bad}.");
            values[i] = Tensor.FromArray(e.Data, e.Shape);
        }
        OptimizerState<VqVaeModel> state;
        try { state = Tree.FromLeaves(template, values); }
        catch (ArgumentException e) { throw new CheckpointException(path, ArgumentMessages.Bare(e), e); }
        return new(state, ReadWindow(path, byName.GetValueOrDefault(WindowKey), model.Codebook.Size), meta);
    }

    /// <summary>The kind of state: "adam", "sgd" or "sgd-momentum".</summary>
    public static string KindOf(OptimizerState<VqVaeModel> state) => state switch
    {
        AdamState<VqVaeModel> => "adam",
        SgdState<VqVaeModel> s => s.MomentumBuffer is null ? "sgd" : "sgd-momentum",
        null => throw new ArgumentNullException(nameof(state)),
        _ => state.GetType().Name,
    };

    private static ImmutableArray<ImmutableArray<long>> ReadWindow(string path, SafeTensorEntry? e, int codes)
    {
        if (e is null) return [];
        if (e.Shape.Length != 2 || e.Shape[1] != codes)
            throw new CheckpointException(path, $"'{WindowKey}' has shape [{string.Join(",", e.Shape)}], expected [steps, {codes}] (one count per code of the model).");
        if (e.Data.Any(v => !(v >= 0) || v != MathF.Floor(v)))
            throw new CheckpointException(path, $"'{WindowKey}' must hold whole counts ≥ 0.");
        int k = e.Shape[1];
        return [.. Enumerable.Range(0, e.Shape[0]).Select(i => Enumerable.Range(0, k).Select(j => (long)e.Data[i * k + j]).ToImmutableArray())];
    }

    private static string More(int count) => count > 1 ? $" and {count - 1} more" : "";

    private static string Describe(IOptimizer optimizer) => optimizer switch
    {
        Adam a => string.Create(CultureInfo.InvariantCulture, $"{{\"lr\": {a.LearningRate:R}, \"betas\": [{a.Beta1:R}, {a.Beta2:R}], \"eps\": {a.Epsilon:R}, \"weight_decay\": {a.WeightDecay:R}}}"),
        Sgd s => string.Create(CultureInfo.InvariantCulture, $"{{\"lr\": {s.LearningRate:R}, \"momentum\": {s.Momentum:R}, \"dampening\": {s.Dampening:R}, \"nesterov\": {(s.Nesterov ? "true" : "false")}, \"weight_decay\": {s.WeightDecay:R}}}"),
        Clipped c => string.Create(CultureInfo.InvariantCulture, $"{{\"clip_max_norm\": {c.Clip.MaxNorm:R}, \"inner\": {Describe(c.Inner)}}}"),
        _ => "{}",
    };
}
