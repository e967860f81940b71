using VqVae.Functional.Runs;

namespace VqVae.Cli.Output;

/// <summary>Output folders: created on demand, with a clear error when that is impossible.</summary>
internal static class OutputPaths
{
    public static void EnsureFolder(string dir)
    {
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new UserError($"--out: cannot create the folder {dir}: {e.Message}"); }
        catch (ArgumentException) { throw new UserError($"--out: not a valid folder name: '{dir}'"); }
    }

    /// <summary>Takes <paramref name="dir"/> for a run (<see cref="RunFolder"/>), with errors that name <c>--out</c>.</summary>
    public static RunFolder OpenRun(string dir)
    {
        try { return RunFolder.Open(dir); }
        catch (RunFolderException e) { throw new UserError($"--out: {e.Message}"); }
    }

    /// <summary>Runs <paramref name="write"/>; a write that fails (unwritable folder, disk full) becomes one line naming <paramref name="option"/>.</summary>
    public static void Writing(string option, Action write)
    {
        try { write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new UserError($"{option}: {e.Message}"); }
    }

    public static void EnsureFolderOf(string file)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(dir)) EnsureFolder(dir);
    }
}
