using System.CommandLine;
using VqVae.Cli.Output;

namespace VqVae.Cli.Commands;

internal static class ReconstructCommand
{
    public static Command Create(Terminal terminal) => new("reconstruct", "(pending)");
}
