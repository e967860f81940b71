namespace VqVae.Functional.Checkpoints;

/// <summary>
/// A checkpoint file that cannot become a model: missing, truncated, corrupt, or holding tensors
/// that do not fit (a missing or unexpected key, a wrong shape, an unreadable config). The message
/// names the file and the problem; no partial model is ever returned.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
    public CheckpointException(string path, string problem, Exception? inner = null)
        : base($"Checkpoint '{path}': {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
