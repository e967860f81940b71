using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;

namespace VqVae.Cli.Bench;

/// <summary>
/// FLOPs of the reference model as ../shared/bench/torch_vqvae_bench.py counts them: multiply-adds
/// of every conv, transposed conv (each input pixel through the full kernel) and the distance
/// matmul, times two; a train step is estimated as three forward passes.
/// </summary>
internal sealed record Flops(double ForwardPerBatch, double TrainPerBatch, double QuantizePerBatch)
{
    public static Flops Reference(VqVaeConfig c, int batch, int size = 28)
    {
        int h1 = size / 2, h2 = size / 4;
        double Conv(int cin, int cout, int k, int hout) => (double)cin * cout * k * k * hout * hout;
        double macs = Conv(c.Channels, c.Hidden, 4, h1) + Conv(c.Hidden, c.Hidden, 4, h2) + Conv(c.Hidden, c.CodeDim, 3, h2)
            + (double)h2 * h2 * c.CodeDim * c.CodebookSize
            + Conv(c.CodeDim, c.Hidden, 3, h2) + Conv(c.Hidden, c.Hidden, 4, h2) + Conv(c.Hidden, c.Channels, 4, h1);
        double fwd = 2 * macs * batch;
        return new Flops(fwd, 3 * fwd, 2.0 * batch * h2 * h2 * c.CodeDim * c.CodebookSize);
    }
}
