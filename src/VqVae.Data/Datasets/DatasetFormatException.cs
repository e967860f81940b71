namespace VqVae.Data.Datasets;

/// <summary>A dataset file or folder that is missing, truncated or malformed.
/// The message names the file or folder and the problem.</summary>
public sealed class DatasetFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="source"/> (a path or description).</summary>
    public DatasetFormatException(string source, string problem, Exception? inner = null)
        : base($"Dataset '{source}': {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file or folder path, or a description of the bytes read.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the source.</summary>
    public string Problem { get; }
}
