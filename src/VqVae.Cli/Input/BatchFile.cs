namespace VqVae.Cli.Input;

/// <summary>The <c>--batch</c> file of the inspection verbs: <see cref="VqVae.Functional.Checkpoints.BatchFile"/> with errors that name the option.</summary>
internal static class BatchFile
{
    public static Tensor Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"--batch: no such file: {path}");
        try { return VqVae.Functional.Checkpoints.BatchFile.Read(path); }
        catch (InvalidDataException e) { throw new UserError($"--batch: {e.Message}"); }
    }
}
