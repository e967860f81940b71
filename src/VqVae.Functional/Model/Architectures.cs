using VqVae.Tensors;

namespace VqVae.Functional.Model;

// The encoder/decoder stacks of DESIGN §4. Each layer draws from its own fold of the key, so a
// model is a pure function of (config, rng).
internal static class Architectures
{
    internal static (Sequential Encoder, Sequential Decoder) Build(VqVaeConfig c, Rng encoderRng, Rng decoderRng)
    {
        int C = c.Channels, h = c.Hidden, D = c.CodeDim;
        Rng E(int i) => encoderRng.Fold(i);
        Rng Dr(int i) => decoderRng.Fold(i);
        var relu = Activation.Relu;
        return c.Architecture switch
        {
            Architecture.Reference => (
                Sequential.Of(
                    Conv2dLayer.Init(E(0), C, h, 4, stride: 2, padding: 1), relu,
                    Conv2dLayer.Init(E(2), h, h, 4, stride: 2, padding: 1), relu,
                    Conv2dLayer.Init(E(4), h, D, 3, stride: 1, padding: 1)),
                Sequential.Of(
                    Conv2dLayer.Init(Dr(0), D, h, 3, stride: 1, padding: 1), relu,
                    ConvTranspose2dLayer.Init(Dr(2), h, h, 4, stride: 2, padding: 1), relu,
                    ConvTranspose2dLayer.Init(Dr(4), h, C, 4, stride: 2, padding: 1), Activation.Sigmoid)),
            Architecture.Compact => (
                Sequential.Of(
                    Conv2dLayer.Init(E(0), C, h / 2, 3, stride: 2, padding: 1), relu,
                    Conv2dLayer.Init(E(2), h / 2, h, 3, stride: 2, padding: 1), relu,
                    Conv2dLayer.Init(E(4), h, D, 1)),
                Sequential.Of(
                    ConvTranspose2dLayer.Init(Dr(0), D, h, 3, stride: 2, padding: 1, outputPadding: 1), relu,
                    ConvTranspose2dLayer.Init(Dr(2), h, h / 2, 3, stride: 2, padding: 1, outputPadding: 1), relu,
                    ConvTranspose2dLayer.Init(Dr(4), h / 2, C, 3, stride: 1, padding: 1))),
            Architecture.Residual => (
                Sequential.Of(
                    Conv2dLayer.Init(E(0), C, h, 4, stride: 2, padding: 1), relu,
                    Conv2dLayer.Init(E(2), h, h, 4, stride: 2, padding: 1),
                    ResidualStack.Init(E(3), c.ResidualLayers, h, c.ResidualChannels),
                    Conv2dLayer.Init(E(4), h, D, 1)),
                Sequential.Of(
                    Conv2dLayer.Init(Dr(0), D, h, 3, stride: 1, padding: 1),
                    ResidualStack.Init(Dr(1), c.ResidualLayers, h, c.ResidualChannels),
                    ConvTranspose2dLayer.Init(Dr(2), h, h, 4, stride: 2, padding: 1), relu,
                    ConvTranspose2dLayer.Init(Dr(4), h, C, 4, stride: 2, padding: 1))),
            _ => throw new ArgumentException($"config: unknown architecture {c.Architecture}.", nameof(c)),
        };
    }
}
