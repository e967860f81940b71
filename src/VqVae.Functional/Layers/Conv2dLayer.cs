using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>A 2-D convolution, PyTorch's <c>nn.Conv2d</c>: weight [Cout, Cin, kh, kw], bias [Cout].</summary>
/// <example><code>var conv = Conv2dLayer.Init(Rng.Seed(0), inChannels: 1, outChannels: 8, kernel: 4, stride: 2, padding: 1);</code></example>
public sealed record Conv2dLayer(Tensor Weight, Tensor Bias, int Stride = 1, int Padding = 0, int Dilation = 1) : ILayer
{
    /// <summary>Input channels (Cin).</summary>
    public int InChannels => Weight.Shape[1];
    /// <summary>Output channels (Cout).</summary>
    public int OutChannels => Weight.Shape[0];

    /// <summary>PyTorch's default initialisation: weight and bias U(±1/√fan_in), fan_in = Cin·kh·kw.</summary>
    public static Conv2dLayer Init(Rng rng, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1)
    {
        LayerChecks.Positive("conv2d", nameof(inChannels), inChannels);
        LayerChecks.Positive("conv2d", nameof(outChannels), outChannels);
        LayerChecks.Positive("conv2d", nameof(kernel), kernel);
        float bound = 1f / MathF.Sqrt(inChannels * kernel * kernel);
        var (rw, rb) = rng.Split();
        return new(Tensor.Uniform(rw, -bound, bound, outChannels, inChannels, kernel, kernel),
                   Tensor.Uniform(rb, -bound, bound, outChannels), stride, padding, dilation);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor x) => Tensor.Conv2d(x, Weight, Bias, Stride, Padding, Dilation);

    /// <inheritdoc/>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x) => (Apply(x), this);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) { writer.Leaf("weight", Weight); writer.Leaf("bias", Bias); }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) => this with { Weight = reader.Leaf(), Bias = reader.Leaf() };
}
