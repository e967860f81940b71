using System.Globalization;
using VqVae.Functional.Checkpoints;
using VqVae.Functional.Prior;
using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Hierarchical;

/// <summary>A hierarchical prior read from a file.</summary>
/// <param name="Prior">Both priors.</param>
/// <param name="VqVae">What the file says about the VQ-VAE-2 whose codes they model, or "".</param>
/// <param name="ImageHeight">The image height the codes came from, when recorded and consistent with the top grid.</param>
/// <param name="ImageWidth">The image width the codes came from, when recorded and consistent with the top grid.</param>
public sealed record LoadedHierarchicalPrior(HierarchicalPrior Prior, string VqVae, int? ImageHeight, int? ImageWidth);

/// <summary>
/// Hierarchical prior checkpoints: one safetensors file with the top prior's parameters under <c>top.</c> and the
/// bottom prior's under <c>bottom.</c>, and in <c>__metadata__</c> <c>format</c> = <c>vqvae-functional-hierarchical-prior</c>,
/// both configs (<c>prior_config_top</c>, <c>prior_config_bottom</c>), the VQ-VAE-2 the priors model (<c>vqvae</c>) and,
/// when known, the image size its samples decode to (<c>image_height</c>, <c>image_width</c>: grids are of the padded size). Written atomically.
/// </summary>
public static class HierarchicalPriorCheckpoint
{
    /// <summary>Metadata value of <c>format</c>.</summary>
    public const string FormatName = "vqvae-functional-hierarchical-prior";

    /// <summary>Writes both priors to one file (temporary file, then rename); <paramref name="height"/>×<paramref name="width"/> is the image size the codes came from.</summary>
    public static void Save(string path, HierarchicalPrior prior, string vqvae = "", int? height = null, int? width = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(prior);
        var entries = Tree.Leaves(prior).Select(l => new SafeTensorEntry(l.Name, l.Value.Shape, l.Value.ToArray())).ToArray();
        SafeTensors.Write(path, entries, new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = "1",
            ["prior_config_top"] = prior.Top.Config.ToJson(),
            ["prior_config_bottom"] = prior.Bottom.Config.ToJson(),
            ["vqvae"] = vqvae ?? "",
            ["image_height"] = height?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["image_width"] = width?.ToString(CultureInfo.InvariantCulture) ?? "",
        });
    }

    /// <summary>True when the file is a hierarchical prior checkpoint (false for anything else, unreadable files included).</summary>
    public static bool IsHierarchical(string path)
    {
        try { return SafeTensors.Read(path).Metadata.TryGetValue("format", out var f) && f == FormatName; }
        catch (Exception e) when (e is SafeTensorsFormatException or IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Both priors in a file, with the VQ-VAE-2 they were fitted on; every parameter present with its shape, nothing else.</summary>
    /// <exception cref="CheckpointException">The file is missing or corrupt, not a hierarchical prior, or its tensors do not fit its configs.</exception>
    public static LoadedHierarchicalPrior Load(string path)
    {
        // Stryker disable once Statement : equivalent, CheckpointFile.Read refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = CheckpointFile.Read(path);
        if (!file.Metadata.TryGetValue("format", out var f) || f != FormatName
            || !file.Metadata.TryGetValue("prior_config_top", out var top) || !file.Metadata.TryGetValue("prior_config_bottom", out var bottom))
            throw new CheckpointException(path, $"is not a hierarchical (VQ-VAE-2) prior checkpoint (its metadata lacks format = {FormatName} and the two prior configs).");
        PriorConfig t, b;
        try { (t, b) = (PriorConfig.FromJson(top), PriorConfig.FromJson(bottom)); }
        catch (ArgumentException e) { throw new CheckpointException(path, e.Message, e); }
        if (b.ConditionCodes != t.CodebookSize || b.ConditionHeight != t.Height || b.ConditionWidth != t.Width)
            throw new CheckpointException(path, string.Create(CultureInfo.InvariantCulture,
                $"the bottom prior must be conditioned on the top grid ({t.CodebookSize} codes, {t.Height}×{t.Width}), but its config says {b.ConditionCodes} codes, {b.ConditionHeight}×{b.ConditionWidth}."));
        var template = new HierarchicalPrior(PriorModel.Init(t, Rng.Seed(0)), PriorModel.Init(b, Rng.Seed(0)));
        var byName = file.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var leaves = new List<Tensor>();
        foreach (var leaf in Tree.Leaves(template))
        {
            if (!byName.Remove(leaf.Name, out var e))
                throw new CheckpointException(path, $"lacks the parameter '{leaf.Name}' its configs need.");
            if (!e.Shape.SequenceEqual(leaf.Value.Shape))
                throw new CheckpointException(path, $"parameter '{leaf.Name}' has shape {ShapeUtil.Format(e.Shape)}, its config needs {ShapeUtil.Format(leaf.Value.Shape)}.");
            if (e.Data.Any(v => !float.IsFinite(v)))
                throw new CheckpointException(path, $"parameter '{leaf.Name}' holds non-finite values.");
            leaves.Add(Tensor.FromArray(e.Data, e.Shape));
        }
        if (byName.Count > 0)
            throw new CheckpointException(path, $"has tensors its configs do not use: {string.Join(", ", byName.Keys.Take(5))}.");
        // A recorded side counts only when it pads to the top grid's side × 8 (else the decoder could not crop to it).
        int? Side(string key, int grid) => file.Metadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n >= 1 && VqVae2Config.PaddedSide(n) == 8 * grid ? n : null;
        return new(Tree.FromLeaves(template, leaves), file.Metadata.TryGetValue("vqvae", out var m) ? m : "", Side("image_height", t.Height), Side("image_width", t.Width));
    }
}
