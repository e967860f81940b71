using System.CommandLine.Parsing;

namespace VqVae.Cli.Input;

/// <summary>
/// Option factories shared by the verbs. Every numeric option goes through one parser
/// (<see cref="OptionValue"/>): invariant culture, no thousands separators, no NaN or infinity,
/// and a documented range, so any bad value becomes one line naming the option, what it expects and
/// what it got (exit 2).
/// </summary>
internal static class Opt
{
    /// <summary>An int with a default, in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = 1, int max = Limits.MaxCount)
    {
        var o = new Option<int>(name) { Description = Range(description, min, max), DefaultValueFactory = _ => defaultValue, HelpName = "N" };
        o.CustomParser = r => r.Tokens.Count == 0 ? defaultValue : OptionValue.Int(r, name, min, max) ?? defaultValue;
        return o;
    }

    /// <summary>An optional int (null when not given), e.g. an override of a preset's value.</summary>
    public static Option<int?> MaybeInt(string name, string description, int min = 1, int max = Limits.MaxCount)
    {
        var o = new Option<int?>(name) { Description = Range(description, min, max), HelpName = "N" };
        o.CustomParser = r => r.Tokens.Count == 0 ? null : OptionValue.Int(r, name, min, max);
        return o;
    }

    /// <summary>A finite float with a default, above (or at) <paramref name="min"/> and at most <paramref name="max"/>.</summary>
    public static Option<float> Float(string name, string description, float defaultValue, float min, bool exclusiveMin, float max = float.MaxValue)
    {
        var o = new Option<float>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "X" };
        o.CustomParser = r => r.Tokens.Count == 0 ? defaultValue : OptionValue.Float(r, name, min, exclusiveMin, max) ?? defaultValue;
        return o;
    }

    /// <summary>An optional finite float (null when not given).</summary>
    public static Option<float?> MaybeFloat(string name, string description, float min, bool exclusiveMin, float max = float.MaxValue)
    {
        var o = new Option<float?>(name) { Description = description, HelpName = "X" };
        o.CustomParser = r => r.Tokens.Count == 0 ? null : OptionValue.Float(r, name, min, exclusiveMin, max);
        return o;
    }

    /// <summary>A seed: any 32-bit integer.</summary>
    public static Option<int> Seed(string description, int defaultValue) =>
        Int("--seed", description, defaultValue, int.MinValue, int.MaxValue);

    public static Option<string> Path(string name, string description, bool required) =>
        new(name) { Description = description, Required = required, HelpName = "PATH" };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>--threads N: worker threads of the CPU kernels (default: all cores).</summary>
    public static Option<int?> Threads() => MaybeInt("--threads", "CPU worker threads for the kernels (default: all cores)", 1, Limits.MaxThreads);

    /// <summary>--max-memory GB: the memory a run may plan to use (default: what the machine has free).</summary>
    public static Option<float?> MaxMemory() => MaybeFloat("--max-memory",
        "Refuse a configuration whose estimated memory exceeds this many GB (default: the memory available now)", 0f, exclusiveMin: true, max: 1e6f);

    /// <summary>--device cpu|torch|cuda: the tensor backend (our managed kernels, libtorch on the CPU, libtorch on a GPU).</summary>
    public static Option<string> Device()
    {
        var o = new Option<string>("--device")
        {
            Description = "Tensor backend: cpu (managed kernels), torch (libtorch CPU) or cuda (libtorch GPU)",
            DefaultValueFactory = _ => "cpu",
            HelpName = "cpu|torch|cuda",
        };
        o.AcceptOnlyFromAmong("cpu", "torch", "cuda");
        return o;
    }

    /// <summary>The checkpoint a command reads (<c>--model</c>, required).</summary>
    public static Option<string> Model() => Path("--model", "Checkpoint (model.safetensors); the architecture comes from it", required: true);

    /// <summary>The batch file of the inspection commands (<c>--batch</c>, required).</summary>
    public static Option<string> BatchFile() => Path("--batch", "Batch file: safetensors with key x, float32 [B,C,H,W]", required: true);

    /// <summary><c>--beta</c> overriding the checkpoint's commitment weight.</summary>
    public static Option<float?> CheckpointBeta() => MaybeFloat("--beta", "Commitment weight β (default: the checkpoint's)", 0f, exclusiveMin: false, max: Limits.MaxBeta);

    private static string Range(string description, int min, int max) =>
        min == int.MinValue ? description : string.Create(CultureInfo.InvariantCulture, $"{description} [{min}..{max}]");
}

/// <summary>The one parser of option values: one line naming the option, what it expects and what it got.</summary>
internal static class OptionValue
{
    public static int? Int(ArgumentResult r, string name, int min, int max)
    {
        string raw = r.Tokens[^1].Value;
        string expects = min == int.MinValue ? "a whole number" : string.Create(CultureInfo.InvariantCulture, $"a whole number from {min} to {max}");
        if (!long.TryParse(raw.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
        {
            r.AddError($"{name} expects {expects}, got '{raw}'.");
            return null;
        }
        return (int)v;
    }

    public static float? Float(ArgumentResult r, string name, float min, bool exclusiveMin, float max)
    {
        string raw = r.Tokens[^1].Value;
        string bound = string.Create(CultureInfo.InvariantCulture, $"{(exclusiveMin ? ">" : "≥")} {min}");
        string expects = max < float.MaxValue ? string.Create(CultureInfo.InvariantCulture, $"a number {bound} and ≤ {max}") : $"a number {bound}";
        // Invariant: '.' is the only decimal mark; "1,5" is an error, never 15. AllowThousands is off.
        const NumberStyles style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        bool ok = double.TryParse(raw.Trim(), style, CultureInfo.InvariantCulture, out double d);
        if (!ok || !double.IsFinite(d) || !float.IsFinite((float)d) || (exclusiveMin ? d <= min : d < min) || d > max)
        {
            r.AddError($"{name} expects {expects} (like 1e-3; '.' as the decimal mark), got '{raw}'.");
            return null;
        }
        return (float)d;
    }
}

/// <summary>
/// The upper limits of the command line's sizes (README, "Limits"). They keep every size
/// arithmetic in range; what actually fits in memory is decided by the resource plan
/// (<c>--max-memory</c>).
/// </summary>
internal static class Limits
{
    /// <summary>Steps, epochs, batch sizes, image counts: at most this many.</summary>
    public const int MaxCount = 10_000_000;
    /// <summary>Steps of a run (also after --epochs is turned into steps).</summary>
    public const int MaxSteps = 10_000_000;
    /// <summary>Passes over the data.</summary>
    public const int MaxEpochs = 1_000_000;
    /// <summary>Timed runs of <c>bench</c> (quantize-only runs 5× as many).</summary>
    public const int MaxBenchSteps = 100_000;
    /// <summary>Codes K.</summary>
    public const int MaxCodebook = 1 << 20;
    /// <summary>Code dimension D and hidden channels h.</summary>
    public const int MaxChannels = 1 << 16;
    /// <summary>Kernel worker threads.</summary>
    public const int MaxThreads = 1024;
    /// <summary>Commitment weight β.</summary>
    public const float MaxBeta = 1e6f;
    /// <summary>Learning rate.</summary>
    public const float MaxLearningRate = 10f;
}
