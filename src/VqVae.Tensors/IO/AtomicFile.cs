namespace VqVae.Tensors.IO;

/// <summary>
/// Writes files atomically: the bytes go to a temporary file in the same folder, which then
/// replaces the target in one rename, so a reader never sees a half-written file and a crash
/// mid-write leaves the old file intact.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes the file at <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    /// <example><code>AtomicFile.Write("out.bin", s => s.Write(bytes));</code></example>
    public static void Write(string path, Action<Stream> write)
    {
        // Stryker disable once Statement : equivalent, Path.GetFullPath refuses a null or empty path with the same exceptions, named "path"
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new IOException($"cannot write '{full}': its folder cannot be created ({e.Message}).", e); }
        // Same folder as the target: File.Move is then a rename on one file system, not a copy.
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                // Stryker disable once Statement,Boolean : durability only, flushing to the disk changes no byte a reader sees, only whether the bytes survive a power cut
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            // .NET names the temporary file; the user knows (and can fix) the target and its folder.
            if (e is IOException or UnauthorizedAccessException)
                throw new IOException($"cannot write '{full}': {e.Message.Replace(temp, full, StringComparison.Ordinal)}", e);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }
}
