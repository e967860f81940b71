using VqVae.Cli.Commands;

namespace VqVae.Cli;

/// <summary>
/// The <c>vqvae</c> command (DESIGN §7): train, reconstruct, prior, sample, routes, gradients, bench.
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

    /// <summary>The command tree: every verb with its options.</summary>
    internal static RootCommand Root(Terminal terminal) => new("Train and verify VQ-VAEs: train, reconstruct, eval, prior, sample, routes, gradients, bench.")
    {
        TrainCommand.Create(terminal),
        ReconstructCommand.Create(terminal),
        EvalCommand.Create(terminal),
        PriorCommand.Create(terminal),
        SampleCommand.Create(terminal),
        RoutesCommand.Create(terminal),
        GradientsCommand.Create(terminal),
        BenchCommand.Create(terminal),
    };

    /// <summary>Parses <paramref name="args"/> only: the usage error as one line on <paramref name="stderr"/> and
    /// <see cref="ExitCodes.Usage"/>, or <see cref="ExitCodes.Ok"/> when the command line is valid (nothing runs).</summary>
    internal static int Check(string[] args, TextWriter stderr)
    {
        var terminal = Terminal.ForWriters(TextWriter.Null, stderr);
        var root = Root(terminal);
        return UsageCheck(root.Parse(args), root, terminal) ?? ExitCodes.Ok;
    }

    internal static int Run(string[] args, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = Root(terminal);
        var parsed = root.Parse(args);
        var verb = Verb(parsed, root);
        if (UsageCheck(parsed, root, terminal) is { } usage) return usage;
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

    private static string Verb(ParseResult parsed, RootCommand root) =>
        parsed.CommandResult.Command == root ? "vqvae" : $"vqvae {parsed.CommandResult.Command.Name}";

    private static int? UsageCheck(ParseResult parsed, RootCommand root, Terminal terminal)
    {
        if (parsed.Errors.Count == 0) return null;
        var verb = Verb(parsed, root);
        terminal.Err.WriteLine($"{verb}: {OneLine(UsageError(parsed, root))} (see '{verb} --help')");
        return ExitCodes.Usage;
    }

    // At the root, System.CommandLine reports a missing or unknown verb as "Required command was not
    // provided."; say which verbs exist and what was typed instead.
    private static string UsageError(ParseResult parsed, RootCommand root)
    {
        if (parsed.CommandResult.Command != root) return parsed.Errors[0].Message;
        var verbs = string.Join(", ", root.Subcommands.Select(c => c.Name));
        var first = parsed.Tokens.FirstOrDefault();
        if (first is null) return $"no verb given; expected one of {verbs}.";
        if (first.Type == System.CommandLine.Parsing.TokenType.Option || first.Value.StartsWith('-'))
            return parsed.Errors.FirstOrDefault(e => !e.Message.StartsWith("Required command", StringComparison.Ordinal))?.Message
                ?? $"expected a verb ({verbs}) before '{first.Value}'.";
        return $"unknown verb '{first.Value}'; expected one of {verbs}.";
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
