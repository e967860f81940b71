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

    /// <summary>Loads a checkpoint (architecture from its metadata, or inferred for a PyTorch file).</summary>
    public static VqVaeModel Load(string path, string option = "--model")
    {
        if (!File.Exists(path)) throw new UserError($"{option}: no such file: {path}");
        // A checkpoint of a run that is still writing, or stopped half-way, may not match its neighbours.
        try { RunFolder.Verify(path); }
        catch (RunFolderException e) { throw new UserError($"{option}: {e.Message}"); }
        try { return Checkpoint.Load(path); }
        catch (CheckpointException e) { throw new UserError($"{option}: {e.Message}"); }
    }
}
