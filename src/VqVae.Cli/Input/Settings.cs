namespace VqVae.Cli.Input;

/// <summary>Process-wide settings shared by the verbs.</summary>
internal static class Settings
{
    /// <summary>Sets the kernels' worker count when --threads was given.</summary>
    public static void ApplyThreads(int? threads)
    {
        if (threads is { } n) Backend.Threads = n;
    }
}
