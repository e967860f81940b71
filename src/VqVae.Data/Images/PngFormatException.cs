namespace VqVae.Data.Images;

/// <summary>A PNG file that is corrupt, truncated or uses a feature we do not read (e.g. interlacing).
/// The message names the file (when known) and the problem.</summary>
public sealed class PngFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="source"/> is a path or a description such as "&lt;bytes&gt;".</summary>
    public PngFormatException(string source, string problem, Exception? inner = null)
        : base($"PNG '{source}': {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file path, or a description of the bytes decoded.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the source.</summary>
    public string Problem { get; }
}
