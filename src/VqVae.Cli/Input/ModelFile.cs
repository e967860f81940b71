using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Functional.Checkpoints;
using VqVae.Functional.Runs;

namespace VqVae.Cli.Input;

/// <summary>Checkpoints for the verbs: <see cref="Checkpoint"/>, with errors that name the option.</summary>
internal static class ModelFile
{
    public static void Save(string path, VqVaeModel model) => Checkpoint.Save(path, model);

    /// <summary>Writes a VQ-VAE-2 checkpoint.</summary>
    public static void Save(string path, VqVae.Functional.Hierarchical.VqVae2Model model) => VqVae.Functional.Hierarchical.VqVae2Checkpoint.Save(path, model);

    /// <summary>True when the file is a VQ-VAE-2 checkpoint (the verbs that take both kinds dispatch on it).</summary>
    public static bool IsVqVae2(string path) => File.Exists(path) && VqVae.Functional.Hierarchical.VqVae2Checkpoint.IsVqVae2(path);

    /// <summary>Loads a VQ-VAE-2 checkpoint, with errors that name the option.</summary>
    public static VqVae.Functional.Hierarchical.VqVae2Model LoadVqVae2(string path, string option = "--model")
    {
        if (!File.Exists(path)) throw new UserError($"{option}: no such file: {path}");
        try { RunFolder.Verify(path); }
        catch (RunFolderException e) { throw new UserError($"{option}: {e.Message}"); }
        try { return VqVae.Functional.Hierarchical.VqVae2Checkpoint.Load(path); }
        catch (CheckpointException e) { throw new UserError($"{option}: {e.Message}"); }
    }

    /// <summary>Loads a checkpoint (architecture from its metadata, or inferred for a PyTorch file).</summary>
    public static VqVaeModel Load(string path, string option = "--model")
    {
        if (!File.Exists(path)) throw new UserError($"{option}: no such file: {path}");
        // A checkpoint of a run that is still writing, or stopped half-way, may not match its neighbours.
        try { RunFolder.Verify(path); }
        catch (RunFolderException e) { throw new UserError($"{option}: {e.Message}"); }
        if (IsVqVae2(path))
            throw new UserError($"{option}: {path} is a VQ-VAE-2 checkpoint; this verb takes single-level models (train --resume, eval, reconstruct, prior and sample take both)");
        try { return Checkpoint.Load(path); }
        catch (CheckpointException e) { throw new UserError($"{option}: {e.Message}"); }
    }
}
