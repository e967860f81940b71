using VqVae.Functional.Model;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

// The stacks of a VQ-VAE-2, after the structure of rosinality/vq-vae-2-pytorch (our own code): every
// down- and up-sampling step is an exact factor of 2 (4×4 kernels, stride 2, padding 1), so the
// bottom grid is twice the top one in each direction. Each part draws from its own fold of the key.
internal static class VqVae2Architecture
{
    internal static VqVae2Model Build(VqVae2Config c, Rng rng)
    {
        int C = c.Channels, h = c.Hidden, h2 = Math.Max(1, c.Hidden / 2), D = c.CodeDim, n = c.ResidualLayers, r = c.ResidualChannels;
        var relu = Activation.Relu;
        Rng Part(int part, int layer) => rng.Fold(part).Fold(layer);
        var encB = Sequential.Of(
            Conv2dLayer.Init(Part(0, 0), C, h2, 4, stride: 2, padding: 1), relu,
            Conv2dLayer.Init(Part(0, 2), h2, h, 4, stride: 2, padding: 1), relu,
            Conv2dLayer.Init(Part(0, 4), h, h, 3, padding: 1),
            ResidualStack.Init(Part(0, 5), n, h, r));
        var encT = Sequential.Of(
            Conv2dLayer.Init(Part(1, 0), h, h2, 4, stride: 2, padding: 1), relu,
            Conv2dLayer.Init(Part(1, 2), h2, h, 3, padding: 1),
            ResidualStack.Init(Part(1, 3), n, h, r));
        var qcT = Conv2dLayer.Init(Part(2, 0), h, D, 1);
        var top = QuantizerLevel.Init(Part(3, 0), c.TopCodebookSize, D, c.Quantizer);
        var decT = Sequential.Of(
            Conv2dLayer.Init(Part(4, 0), D, h, 3, padding: 1),
            ResidualStack.Init(Part(4, 1), n, h, r),
            ConvTranspose2dLayer.Init(Part(4, 2), h, D, 4, stride: 2, padding: 1));
        var qcB = Conv2dLayer.Init(Part(5, 0), D + h, D, 1);
        var bottom = QuantizerLevel.Init(Part(6, 0), c.BottomCodebookSize, D, c.Quantizer);
        var up = ConvTranspose2dLayer.Init(Part(7, 0), D, D, 4, stride: 2, padding: 1);
        var dec = Sequential.Of(
            Conv2dLayer.Init(Part(8, 0), 2 * D, h, 3, padding: 1),
            ResidualStack.Init(Part(8, 1), n, h, r),
            ConvTranspose2dLayer.Init(Part(8, 2), h, h2, 4, stride: 2, padding: 1), relu,
            ConvTranspose2dLayer.Init(Part(8, 4), h2, C, 4, stride: 2, padding: 1));
        return new VqVae2Model(c, encB, encT, qcT, top, decT, qcB, bottom, up, dec);
    }
}
