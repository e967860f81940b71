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
    /// load there); a backend that cannot be made here (no libtorch, no CUDA GPU) is a user error.
    /// </summary>
    public static void ApplyDevice(string? device)
    {
        if (device is null or "cpu") return;
        try { Backend.Default = Backend.Get(device); }
        catch (ArgumentException e) { throw new UserError($"--device {device}: {e.Message}"); }
    }
}
