using Spectre.Console;

namespace VqVae.Cli.Output;

/// <summary>
/// Where a command writes: plain text writers for results (JSON, CSV lines) and errors, and a
/// Spectre console for tables and the live progress bar. The progress bar is used only when
/// stdout is a real terminal; redirected output (CI, pipes, tests) gets periodic plain lines.
/// </summary>
internal sealed class Terminal
{
    public TextWriter Out { get; }
    public TextWriter Err { get; }
    public IAnsiConsole Console { get; }
    public bool Interactive { get; }

    private Terminal(TextWriter output, TextWriter error, IAnsiConsole console, bool interactive)
    {
        Out = output; Err = error; Console = console; Interactive = interactive;
    }

    /// <summary>The process's console: interactive when stdout is not redirected.</summary>
    public static Terminal ForProcess()
    {
        bool tty = !System.Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null;
        var console = tty ? AnsiConsole.Console : Plain(System.Console.Out);
        return new Terminal(System.Console.Out, System.Console.Error, console, tty);
    }

    /// <summary>Plain writers (tests, redirected output): no colours, no live display.</summary>
    public static Terminal ForWriters(TextWriter output, TextWriter error) => new(output, error, Plain(output), false);

    /// <summary>Width of tables written to a file or pipe: wide enough that no table wraps (nobody reads them at 80 columns).</summary>
    public const int PlainWidth = 240;

    private static IAnsiConsole Plain(TextWriter w)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(w),
        });
        // Spectre assumes 80 columns when the output is redirected, and wraps --profile's tables.
        console.Profile.Width = PlainWidth;
        return console;
    }
}
