namespace VqVae.Data.Images;

/// <summary>An image file that is missing, not a PNG, JPEG, WebP or BMP, truncated, corrupt, or larger
/// than the pixel limit. The message names the file (when known) and the problem, in one line.</summary>
public sealed class ImageFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="source"/> is a path or a description such as "&lt;bytes&gt;".</summary>
    public ImageFormatException(string source, string problem, Exception? inner = null)
        : base($"Image '{source}': {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file path, or a description of the bytes decoded.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the source.</summary>
    public string Problem { get; }
}
