namespace VqVae.Tensors.IO;

/// <summary>
/// A safetensors file (or byte buffer) that is missing, truncated or corrupt.
/// The message names the source and the problem.
/// </summary>
public sealed class SafeTensorsFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="source"/> (a path or a description).</summary>
    public SafeTensorsFormatException(string source, string problem, Exception? inner = null)
        : base($"Safetensors '{source}': {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file path, or a description of the stream or buffer read.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the source.</summary>
    public string Problem { get; }
}
