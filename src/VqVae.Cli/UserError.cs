namespace VqVae.Cli;

/// <summary>
/// A mistake the user can fix (a missing file, a wrong shape, a bad option value). The command
/// reports its message as one line on stderr and exits with <see cref="ExitCodes.UserError"/>.
/// </summary>
/// <example><code>throw new UserError($"--batch: {path} has no tensor named 'x'");</code></example>
public sealed class UserError(string message) : Exception(message);

/// <summary>The exit codes of <c>vqvae</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;
    /// <summary>A user mistake: a missing or corrupt file, a wrong shape, a bad value.</summary>
    public const int UserError = 1;
    /// <summary>The command line itself did not parse (unknown option, missing value).</summary>
    public const int Usage = 2;
    /// <summary>A bug on our side (the message says so; set VQVAE_DEBUG=1 for the stack trace).</summary>
    public const int Internal = 70;
    /// <summary>Stopped by Ctrl-C (after the current step; what was trained so far is written).</summary>
    public const int Interrupted = 130;
}
