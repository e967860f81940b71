namespace VqVae.Cli.Input;

/// <summary>Process-wide settings shared by the verbs.</summary>
internal static class Settings
{
    /// <summary>Sets the kernels' worker count when --threads was given.</summary>
    public static void ApplyThreads(int? threads)
    {
        if (threads is { } n) Backend.Threads = n;
    }

    /// <summary>
    /// Puts every tensor the command makes on the --device backend (checkpoints, batches and models
    /// load there) until the returned scope ends; a backend that cannot be made here (no libtorch, no
    /// CUDA GPU) is a user error. Scoped rather than process-wide, so in-process callers keep theirs.
    /// </summary>
    public static IDisposable UseDevice(string? device)
    {
        Backend backend;
        try { backend = Backend.Get(device ?? "cpu"); }
        catch (ArgumentException e) { throw new UserError($"--device {device}: {e.Message}"); }
        return Backend.Use(backend);
    }
}
