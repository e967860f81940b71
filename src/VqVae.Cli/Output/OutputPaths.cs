namespace VqVae.Cli.Output;

/// <summary>Output folders: created on demand, with a clear error when that is impossible.</summary>
internal static class OutputPaths
{
    public static void EnsureFolder(string dir)
    {
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new UserError($"cannot create the output folder {dir}: {e.Message}"); }
        catch (ArgumentException) { throw new UserError($"not a valid folder name: '{dir}'"); }
    }

    public static void EnsureFolderOf(string file)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(dir)) EnsureFolder(dir);
    }
}
