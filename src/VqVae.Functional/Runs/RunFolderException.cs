namespace VqVae.Functional.Runs;

/// <summary>An output folder that cannot be used, or a file whose folder's manifest says its set is incomplete or changed.</summary>
public sealed class RunFolderException : Exception
{
    /// <summary>Creates the exception for the folder <paramref name="folder"/>.</summary>
    public RunFolderException(string folder, string problem, Exception? inner = null) : base($"Folder '{folder}': {problem}", inner)
    {
        Folder = folder; Problem = problem;
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
