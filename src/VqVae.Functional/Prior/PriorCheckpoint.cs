using System.Globalization;
using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Prior;

/// <summary>A prior read from a file, with the VQ-VAE it was fitted on (as recorded when it was saved).</summary>
/// <param name="Prior">The prior.</param>
/// <param name="VqVae">What the file says about the VQ-VAE whose codes it models (a file name and hash), or "".</param>
public sealed record LoadedPrior(PixelCnnPrior Prior, string VqVae);

/// <summary>
/// Prior checkpoints (DESIGN §6): safetensors with the prior's parameter names (its PyTorch
/// state_dict), and in <c>__metadata__</c> the config as JSON (K, grid, layers, conditioning) under
/// <c>prior_config</c> and the VQ-VAE it was fitted on under <c>vqvae</c>.
/// </summary>
public static class PriorCheckpoint
{
    /// <summary>Metadata value of <c>format</c>.</summary>
    public const string FormatName = "vqvae-functional-prior";

    /// <summary>Writes the prior atomically (temporary file, then rename).</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="prior">The prior.</param>
    /// <param name="vqvae">The VQ-VAE the prior models the codes of (e.g. its file name and hash).</param>
    public static void Save(string path, PixelCnnPrior prior, string vqvae = "")
    {
        // Stryker disable once Statement : equivalent, SafeTensors.Write refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(prior); ArgumentNullException.ThrowIfNull(vqvae);
        var entries = Tree.Leaves(prior).Select(l => new SafeTensorEntry(l.Name, l.Value.Shape, l.Value.ToArray())).ToArray();
        SafeTensors.Write(path, entries, new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = "1",
            ["prior_config"] = prior.Config.ToJson(),
            ["vqvae"] = vqvae,
        });
    }

    /// <summary>The prior in a file; every parameter must be present with its shape, and nothing else.</summary>
    /// <exception cref="CheckpointException">The file is missing or corrupt, is not a prior, or its tensors do not fit its config.</exception>
    public static LoadedPrior Load(string path)
    {
        // Stryker disable once Statement : equivalent, SafeTensors.Read (through CheckpointFile.Read, which passes argument exceptions on) refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = CheckpointFile.Read(path);
        if (file.Metadata.TryGetValue("format", out var format) && format == Hierarchical.HierarchicalPriorCheckpoint.FormatName)
            throw new CheckpointException(path, "is a hierarchical (VQ-VAE-2) prior; load it with HierarchicalPriorCheckpoint.Load and sample it with its VQ-VAE-2 model.");
        if (!file.Metadata.TryGetValue("prior_config", out var json))
            throw new CheckpointException(path, "is not a prior checkpoint (no 'prior_config' in its metadata; a VQ-VAE model file goes to --model).");
        PriorConfig config;
        try { config = PriorConfig.FromJson(json); }
        catch (ArgumentException e) { throw new CheckpointException(path, e.Message, e); }
        var template = PriorModel.Init(config, Rng.Seed(0));
        var byName = file.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var leaves = new List<Tensor>();
        foreach (var leaf in Tree.Leaves(template))
        {
            if (!byName.Remove(leaf.Name, out var e))
                throw new CheckpointException(path, $"lacks the parameter '{leaf.Name}' its config needs.");
            var want = leaf.Value.Shape;
            if (!e.Shape.SequenceEqual(want))
                throw new CheckpointException(path, string.Create(CultureInfo.InvariantCulture,
                    $"parameter '{leaf.Name}' has shape {ShapeUtil.Format(e.Shape)}, its config needs {ShapeUtil.Format(want)}."));
            leaves.Add(Tensor.FromArray(e.Data, e.Shape));
        }
        if (byName.Count > 0)
            throw new CheckpointException(path, $"has tensors its config does not use: {string.Join(", ", byName.Keys.Take(5))}.");
        return new(Tree.FromLeaves(template, leaves), file.Metadata.TryGetValue("vqvae", out var m) ? m : "");
    }
}
