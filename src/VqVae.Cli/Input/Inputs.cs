using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Tensors;

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
        return (beta is { } b ? model with { Config = model.Config.With(beta: b) } : model, x);
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
