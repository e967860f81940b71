using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;

namespace VqVae.Cli.Input;

/// <summary>Loading what several verbs share: a checkpoint and a batch that fits it.</summary>
internal static class Inputs
{
    /// <summary>The model (its config's β replaced when <paramref name="beta"/> is given: the model's config is the one source of its settings) and the batch.</summary>
    public static (VqVaeModel Model, Tensor X) ModelAndBatch(string modelPath, string batchPath, float? beta)
    {
        var model = ModelFile.Load(modelPath);
        var x = BatchFile.Read(batchPath);
        CheckFits(model.Config, x, batchPath, "--batch");
        var m = beta is { } b ? model with { Config = model.Config.With(beta: b) } : model;
        CheckFiniteLoss(m, x, batchPath);
        return (m, x);
    }

    // Finite pixels can still overflow the loss (3e38 squared); a NaN loss would print as null and
    // write NaN gradients with exit 0. Refuse the batch instead, with its value range.
    private static void CheckFiniteLoss(VqVaeModel model, Tensor x, string batchPath)
    {
        var (recon, codebook, commitment, total) = VqVaeModel.LossTerms(model, x).Values;
        if (float.IsFinite(recon) && float.IsFinite(codebook) && float.IsFinite(commitment) && float.IsFinite(total)) return;
        var v = x.ToArray();
        throw new UserError(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"--batch: the loss on {batchPath} is not finite (recon {recon}, codebook {codebook}, commitment {commitment}); its pixels range from {v.Min():G4} to {v.Max():G4}, the model expects images scaled like its training data (about [0, 1])"));
    }

    /// <summary>Refuses results that are not finite (an overflow inside the model) instead of printing or writing them.</summary>
    public static void CheckFinite(string what, string batchPath, IEnumerable<(string Name, double Value)> values)
    {
        foreach (var (name, value) in values)
            if (!double.IsFinite(value))
                throw new UserError($"--batch: {what} '{name}' is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} on {batchPath} (an overflow inside the model); nothing was written");
    }

    public static void CheckFits(VqVaeConfig cfg, Tensor x, string source, string option)
    {
        var s = x.Shape;
        if (s[1] != cfg.Channels)
            throw new UserError($"{option}: {source} has {s[1]} channel(s) per image, the model expects {cfg.Channels} ([B,{cfg.Channels},H,W])");
        if (s[0] < 1 || s[2] < cfg.Downsampling || s[3] < cfg.Downsampling || s[2] % cfg.Downsampling != 0 || s[3] % cfg.Downsampling != 0)
            throw new UserError($"{option}: {source} has images of {s[2]}×{s[3]}; height and width must be positive multiples of {cfg.Downsampling}");
    }
}
