namespace VqVae.Tensors.IO;

/// <summary>
/// The contents of a safetensors file: tensors in file order (by data offset) and the
/// string-to-string <c>__metadata__</c> map (empty when the file has none).
/// </summary>
/// <example><code>
/// var file = SafeTensors.Read("model.safetensors");
/// float[] w = file["encoder.0.weight"].Data;
/// string? cfg = file.Metadata.GetValueOrDefault("config");
/// </code></example>
public sealed record SafeTensorsFile
{
    private readonly IReadOnlyDictionary<string, SafeTensorEntry> _byName;

    /// <summary>Creates the file contents; names must be unique.</summary>
    public SafeTensorsFile(IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var byName = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(entries));
            if (!byName.TryAdd(e.Name, e))
                throw new ArgumentException($"Tensor name '{e.Name}' appears more than once.", nameof(entries));
        }
        Entries = entries;
        Metadata = metadata ?? new Dictionary<string, string>();
        _byName = byName;
    }

    /// <summary>The tensors, in file order.</summary>
    public IReadOnlyList<SafeTensorEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in file order.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>Whether a tensor named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor named <paramref name="name"/>, or false.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafeTensorEntry entry) =>
        _byName.TryGetValue(name, out entry);

    /// <summary>The tensor named <paramref name="name"/>; a <see cref="KeyNotFoundException"/> listing the names if absent.</summary>
    public SafeTensorEntry this[string name] =>
        _byName.TryGetValue(name, out var e)
            ? e
            : throw new KeyNotFoundException(
                $"No tensor named '{name}'; the file holds {Entries.Count}: {string.Join(", ", Names.Take(20))}{(Entries.Count > 20 ? ", …" : "")}.");
}
