using System.CommandLine;
using VqVae.Cli.Commands;
using VqVae.Cli.Output;

namespace VqVae.Cli;

/// <summary>
/// The <c>vqvae</c> command (DESIGN §7): train, reconstruct, routes, gradients, bench.
/// A usage or user mistake is reported as one line on stderr with a non-zero exit code.
/// </summary>
/// <example><code>
/// int code = CliApp.Run(["train", "--steps", "5", "--batch", "16", "--out", "run"], Console.Out, Console.Error);
/// </code></example>
public static class CliApp
{
    /// <summary>Runs the command on the process console (a live progress bar when stdout is a terminal).</summary>
    public static int Run(string[] args) => Run(args, Terminal.ForProcess());

    /// <summary>Runs the command with plain output to <paramref name="stdout"/> and <paramref name="stderr"/> (tests, embedding).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, Terminal.ForWriters(stdout, stderr));

    internal static int Run(string[] args, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = new RootCommand("Train and verify VQ-VAEs: train, reconstruct, routes, gradients, bench.")
        {
            TrainCommand.Create(terminal),
            ReconstructCommand.Create(terminal),
            RoutesCommand.Create(terminal),
            GradientsCommand.Create(terminal),
            BenchCommand.Create(terminal),
        };
        var parsed = root.Parse(args);
        var verb = parsed.CommandResult.Command == root ? "vqvae" : $"vqvae {parsed.CommandResult.Command.Name}";
        if (parsed.Errors.Count > 0)
        {
            terminal.Err.WriteLine($"{verb}: {OneLine(parsed.Errors[0].Message)} (see '{verb} --help')");
            return ExitCodes.Usage;
        }
        try
        {
            // VQVAE_ISA naming a level this CPU lacks (or no level) is the user's to fix: one line before any work.
            _ = VqVae.Tensors.Backends.Cpu.CpuIsa.Level;
            return parsed.Invoke(new InvocationConfiguration { Output = terminal.Out, Error = terminal.Err, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(terminal.Err, verb, e);
        }
    }

    // One line per failure: the user's mistakes by their message, our bugs marked as such.
    private static int Report(TextWriter err, string verb, Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        bool debug = Environment.GetEnvironmentVariable("VQVAE_DEBUG") is "1";
        if (Errors.IsUserMistake(e))
        {
            err.WriteLine($"{verb}: {OneLine(Errors.Message(e))}");
            if (debug) err.WriteLine(e);
            return ExitCodes.UserError;
        }
        err.WriteLine($"{verb}: internal error ({e.GetType().Name}): {OneLine(e.Message)} (set VQVAE_DEBUG=1 for details)");
        if (debug) err.WriteLine(e);
        return ExitCodes.Internal;
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}
