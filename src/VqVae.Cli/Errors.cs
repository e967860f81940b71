using VqVae.Functional.Checkpoints;
using VqVae.Data.Datasets;
using VqVae.Data.Images;

namespace VqVae.Cli;

/// <summary>Which exceptions are the user's to fix, and how to say them in one line.</summary>
internal static class Errors
{
    public static bool IsUserMistake(Exception e) => e is UserError or SafeTensorsFormatException or ImageFormatException or CheckpointException or DatasetFormatException or VqVae.Functional.Runs.RunFolderException
        or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException
        or ArgumentException or InvalidDataException or KeyNotFoundException;

    /// <summary>The message without .NET's " (Parameter 'x')" suffix, which means nothing to a command-line user.</summary>
    public static string Message(Exception e) => e is ArgumentException { ParamName: { } p } a
        ? a.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal)
        : e.Message;
}
