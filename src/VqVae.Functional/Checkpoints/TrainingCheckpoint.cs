using System.Globalization;
using VqVae.Functional.Optim;
using VqVae.Functional.Training;

namespace VqVae.Functional.Checkpoints;

/// <summary>A training checkpoint read back (<see cref="TrainingCheckpoint.Load"/>).</summary>
/// <param name="Model">The model.</param>
/// <param name="Optimizer">The optimizer state saved with it, or null when the model has none beside it (a plain checkpoint, a PyTorch file).</param>
/// <param name="ModelPath">The model file.</param>
/// <param name="OptimizerPath">The optimizer file paired with it, or null.</param>
public sealed record ResumePoint(VqVaeModel Model, SavedOptimizerState? Optimizer, string ModelPath, string? OptimizerPath)
{
    /// <summary>The optimizer step the checkpoint was taken after (0 without an optimizer state).</summary>
    public int Step => Optimizer?.Step ?? 0;
}

/// <summary>
/// A resumable training checkpoint: <see cref="ModelFileName"/> (the model, as <see cref="Checkpoint"/> writes
/// it) and <see cref="OptimizerFileName"/> (its optimizer state and usage window, <see cref="OptimizerCheckpoint"/>)
/// in one folder, both tagged with the optimizer step and the writing run's id in their metadata
/// (<c>step</c>, <c>run</c>), so a model is only ever resumed with its own optimizer state.
/// Each file is written atomically; the pair is kept consistent across a kill at any moment: the
/// optimizer file being replaced is first renamed to <see cref="PreviousOptimizerFileName"/>, and
/// removed once the new model is in place, so whichever model a killed run leaves has its optimizer
/// state in one of the two files.
/// </summary>
/// <example><code>
/// var options = new TrainOptions { Steps = 600, CheckpointEvery = 100, OnCheckpoint = s => TrainingCheckpoint.Save("runs/a", adam, s, runId) };
/// var point = TrainingCheckpoint.Load("runs/a/model.safetensors", adam);   // point.Optimizer.State, point.Step
/// </code></example>
public static class TrainingCheckpoint
{
    /// <summary>The model's file name in a checkpoint folder.</summary>
    public const string ModelFileName = "model.safetensors";
    /// <summary>The optimizer state's file name.</summary>
    public const string OptimizerFileName = "optimizer.safetensors";
    /// <summary>The optimizer state of the previous checkpoint while a new one is written (absent otherwise).</summary>
    public const string PreviousOptimizerFileName = "optimizer.previous.safetensors";

    /// <summary>Metadata key of the optimizer step.</summary>
    public const string StepKey = "step";
    /// <summary>Metadata key of the run id.</summary>
    public const string RunKey = "run";

    /// <summary>
    /// Writes <paramref name="snapshot"/> into <paramref name="folder"/> as a pair of files tagged with <paramref name="runId"/>;
    /// <paramref name="metadata"/> (e.g. the data, seed and batch size that decide the data order) goes into the optimizer file.
    /// </summary>
    public static void Save(string folder, IOptimizer optimizer, TrainSnapshot snapshot, string runId, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder); ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(snapshot); ArgumentException.ThrowIfNullOrEmpty(runId);
        var tag = new Dictionary<string, string> { [RunKey] = runId };
        var optTag = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [RunKey] = runId };
        // Both encoded first: a failure to encode leaves the folder as it was.
        var window = snapshot.Window.Select(r => (IReadOnlyList<long>)r).ToList();
        byte[] opt = OptimizerCheckpoint.Encode(optimizer, snapshot.State, window, optTag);
        byte[] model = Checkpoint.Encode(snapshot.Model, new Dictionary<string, string>(tag) { [StepKey] = snapshot.State.Step.ToString(CultureInfo.InvariantCulture) });
        // No folder yet means no files to move aside; AtomicFile creates it, or says why it cannot.
        string optPath = Path.Combine(folder, OptimizerFileName), prevPath = Path.Combine(folder, PreviousOptimizerFileName);
        // The model now in the folder keeps its optimizer state under the previous name until the new model
        // replaces it. A previous file left by a save that was killed may be that state already: it is then kept.
        if (File.Exists(optPath) && (!File.Exists(prevPath) || Pairs(Path.Combine(folder, ModelFileName), optPath)))
            File.Move(optPath, prevPath, overwrite: true);
        Tensors.IO.AtomicFile.WriteAllBytes(optPath, opt);
        Tensors.IO.AtomicFile.WriteAllBytes(Path.Combine(folder, ModelFileName), model);
        File.Delete(prevPath);
    }

    // Whether the optimizer file carries the model file's step and run (unreadable files pair with nothing).
    private static bool Pairs(string modelPath, string optimizerPath)
    {
        try
        {
            var m = Tensors.IO.SafeTensors.Read(modelPath).Metadata;
            var o = Tensors.IO.SafeTensors.Read(optimizerPath).Metadata;
            return m.GetValueOrDefault(RunKey) is { } run && run == o.GetValueOrDefault(RunKey) && m.GetValueOrDefault(StepKey) == o.GetValueOrDefault(StepKey);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Tensors.IO.SafeTensorsFormatException) { return false; }
    }

    /// <summary>
    /// The model at <paramref name="modelPath"/> and, when the model is a training checkpoint with an optimizer
    /// file beside it, its optimizer state for <paramref name="optimizer"/> (the file of the two whose step and
    /// run match the model's).
    /// </summary>
    /// <exception cref="CheckpointException">A file is corrupt, or the model's optimizer state is missing or does not fit.</exception>
    public static ResumePoint Load(string modelPath, IOptimizer optimizer)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath); ArgumentNullException.ThrowIfNull(optimizer);
        var loaded = Checkpoint.Read(modelPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        string[] candidates = [Path.Combine(folder, OptimizerFileName), Path.Combine(folder, PreviousOptimizerFileName)];
        var present = candidates.Where(File.Exists).ToArray();
        bool tagged = loaded.Metadata.TryGetValue(StepKey, out var step) & loaded.Metadata.TryGetValue(RunKey, out var run);
        if (!tagged || present.Length == 0) return new(loaded.Model, null, modelPath, null);
        var seen = new List<string>();
        foreach (var path in present)
        {
            var saved = OptimizerCheckpoint.Load(path, optimizer, loaded.Model);
            string savedRun = saved.Metadata.GetValueOrDefault(RunKey) ?? "?";
            if (savedRun == run && saved.Step.ToString(CultureInfo.InvariantCulture) == step) return new(loaded.Model, saved, modelPath, path);
            seen.Add(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)} is from step {saved.Step} of run {savedRun}"));
        }
        throw new CheckpointException(modelPath,
            $"is from step {step} of run {run}, but no optimizer state beside it is ({string.Join("; ", seen)}); the files come from different checkpoints.");
    }
}
