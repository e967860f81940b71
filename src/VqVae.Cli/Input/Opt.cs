using System.CommandLine;
using System.Globalization;

namespace VqVae.Cli.Input;

/// <summary>Option factories shared by the verbs: typed, described, range-checked at parse time.</summary>
internal static class Opt
{
    public static Option<int> Int(string name, string description, int defaultValue, int min = 1) =>
        Checked(new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue }, min);

    /// <summary>An optional int (null when not given), e.g. an override of a preset's value.</summary>
    public static Option<int?> MaybeInt(string name, string description, int min = 1)
    {
        var o = new Option<int?>(name) { Description = description };
        o.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is { } v && v < min) r.AddError($"{name} must be at least {min}, got {v}.");
        });
        return o;
    }

    public static Option<float> Float(string name, string description, float defaultValue, float min, bool exclusiveMin)
    {
        var o = new Option<float>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r => CheckFloat(r, name, r.GetValueOrDefault<float>(), min, exclusiveMin));
        return o;
    }

    public static Option<float?> MaybeFloat(string name, string description, float min, bool exclusiveMin)
    {
        var o = new Option<float?>(name) { Description = description };
        o.Validators.Add(r => { if (r.GetValueOrDefault<float?>() is { } v) CheckFloat(r, name, v, min, exclusiveMin); });
        return o;
    }

    public static Option<string> Path(string name, string description, bool required) =>
        new(name) { Description = description, Required = required, HelpName = "PATH" };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>--threads N: worker threads of the CPU kernels (default: all cores).</summary>
    public static Option<int?> Threads() => MaybeInt("--threads", "CPU worker threads for the kernels (default: all cores)");

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
    public static Option<float?> CheckpointBeta() => MaybeFloat("--beta", "Commitment weight β (default: the checkpoint's)", 0f, exclusiveMin: false);

    private static Option<int> Checked(Option<int> o, int min)
    {
        o.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<int>();
            if (v < min) r.AddError($"{o.Name} must be at least {min}, got {v}.");
        });
        return o;
    }

    private static void CheckFloat(System.CommandLine.Parsing.OptionResult r, string name, float v, float min, bool exclusiveMin)
    {
        bool bad = !float.IsFinite(v) || (exclusiveMin ? v <= min : v < min);
        if (bad) r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be a number {(exclusiveMin ? ">" : "≥")} {min}, got {v}."));
    }
}
