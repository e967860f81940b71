using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>A 2-D transposed convolution, PyTorch's <c>nn.ConvTranspose2d</c>: weight [Cin, Cout, kh, kw], bias [Cout].</summary>
/// <example><code>var up = ConvTranspose2dLayer.Init(Rng.Seed(0), inChannels: 8, outChannels: 1, kernel: 4, stride: 2, padding: 1);  // 7×7 → 14×14</code></example>
public sealed record ConvTranspose2dLayer(Tensor Weight, Tensor Bias, int Stride = 1, int Padding = 0, int OutputPadding = 0, int Dilation = 1) : ILayer
{
    /// <summary>Input channels (Cin).</summary>
    public int InChannels => Weight.Shape[0];
    /// <summary>Output channels (Cout).</summary>
    public int OutChannels => Weight.Shape[1];

    /// <summary>PyTorch's default initialisation. PyTorch computes fan_in from weight.size(1)·kh·kw, which for a
    /// transposed conv is <b>Cout</b>·kh·kw; we match it (weight and bias U(±1/√(Cout·kh·kw))).</summary>
    public static ConvTranspose2dLayer Init(Rng rng, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1)
    {
        LayerChecks.Positive("convTranspose2d", nameof(inChannels), inChannels);
        LayerChecks.Positive("convTranspose2d", nameof(outChannels), outChannels);
        LayerChecks.Positive("convTranspose2d", nameof(kernel), kernel);
        float bound = 1f / MathF.Sqrt(outChannels * kernel * kernel);
        var (rw, rb) = rng.Split();
        return new(Tensor.Uniform(rw, -bound, bound, inChannels, outChannels, kernel, kernel),
                   Tensor.Uniform(rb, -bound, bound, outChannels), stride, padding, outputPadding, dilation);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor x) => Tensor.ConvTranspose2d(x, Weight, Bias, Stride, Padding, OutputPadding, Dilation);

    /// <inheritdoc/>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x) => (Apply(x), this);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) { writer.Leaf("weight", Weight); writer.Leaf("bias", Bias); }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) => this with { Weight = reader.Leaf(), Bias = reader.Leaf() };
}
