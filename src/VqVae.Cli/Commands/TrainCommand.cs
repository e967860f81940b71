using System.CommandLine;
using VqVae.Cli.Output;

namespace VqVae.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create(Terminal terminal) => new("train", "(pending)");
}
