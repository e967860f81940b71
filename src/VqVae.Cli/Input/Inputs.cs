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
    /// <summary>The model, the batch and the config to use (the checkpoint's, with β overridden when given).</summary>
    public static (VqVaeModel Model, Tensor X, VqVaeConfig Config) ModelAndBatch(string modelPath, string batchPath, float? beta)
    {
        var model = ModelFile.Load(modelPath);
        var x = BatchFile.Read(batchPath);
        CheckFits(model.Config, x, batchPath, "--batch");
        var cfg = beta is { } b ? model.Config.With(beta: b) : model.Config;
        return (model, x, cfg);
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
