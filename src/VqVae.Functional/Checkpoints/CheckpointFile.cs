using VqVae.Tensors.IO;

namespace VqVae.Functional.Checkpoints;

/// <summary>Reading a safetensors file for any of the library's checkpoint kinds (model, optimizer state, prior, VQ-VAE-2).</summary>
internal static class CheckpointFile
{
    /// <summary>The file at <paramref name="path"/>; a missing, unreadable or malformed file becomes a <see cref="CheckpointException"/> naming it.</summary>
    public static SafeTensorsFile Read(string path)
    {
        try { return SafeTensors.Read(path); }
        catch (SafeTensorsFormatException e) { throw new CheckpointException(path, e.Problem, e); }
        catch (IOException e) { throw new CheckpointException(path, $"cannot be read ({e.Message}).", e); }
        catch (UnauthorizedAccessException e) { throw new CheckpointException(path, $"cannot be read ({e.Message}).", e); }
    }
}
