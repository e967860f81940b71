using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;

namespace VqVae.Cli.Train;

/// <summary>
/// The pixel range a model trains on: [0, 1] for the reference architecture (its decoder ends in a
/// sigmoid), [−0.5, 0.5] for the others (DESIGN §4, mnistSmall), shifted back for pictures.
/// </summary>
internal static class ImageScale
{
    public static float Shift(VqVaeConfig cfg) => cfg.SigmoidOutput ? 0f : -0.5f;

    public static Tensor ToModel(VqVaeConfig cfg, Tensor pixels) => Shift(cfg) == 0f ? pixels : pixels + Shift(cfg);

    public static float[] ToPixels(VqVaeConfig cfg, Tensor modelValues)
    {
        var a = modelValues.ToArray();
        float s = Shift(cfg);
        if (s != 0f) for (int i = 0; i < a.Length; i++) a[i] -= s;
        return a;
    }
}
