namespace VqVae.Functional;

/// <summary>Argument errors restated inside a sentence of their own (a checkpoint's problem, a trainer option's).</summary>
internal static class ArgumentMessages
{
    /// <summary>
    /// The message of <paramref name="e"/> without the " (Parameter 'x')" that .NET appends: the wrapping error names
    /// its own argument or file, and the inner parameter's name means nothing where it is read.
    /// </summary>
    public static string Bare(ArgumentException e) =>
        e.ParamName is { } p ? e.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : e.Message;
}
