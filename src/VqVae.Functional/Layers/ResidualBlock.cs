using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>
/// x + Conv1×1(ReLU(Conv3×3(ReLU(x)))), the paper's residual block. Leaves are named like a PyTorch
/// module holding <c>block = nn.Sequential(ReLU, Conv3×3, ReLU, Conv1×1)</c>:
/// <c>block.1.weight</c>, <c>block.1.bias</c>, <c>block.3.weight</c>, <c>block.3.bias</c>.
/// </summary>
public sealed record ResidualBlock(Conv2dLayer Conv3, Conv2dLayer Conv1) : ILayer
{
    /// <summary>A block on <paramref name="channels"/> channels with <paramref name="inner"/> channels inside, PyTorch-initialised.</summary>
    public static ResidualBlock Init(Rng rng, int channels, int inner)
    {
        var (r3, r1) = rng.Split();
        return new(Conv2dLayer.Init(r3, channels, inner, 3, padding: 1), Conv2dLayer.Init(r1, inner, channels, 1));
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor x) => x + Conv1.Apply(Tensor.Relu(Conv3.Apply(Tensor.Relu(x))));

    /// <inheritdoc/>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x) => (Apply(x), this);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Child("block", w => { w.Child("1", Conv3.Flatten); w.Child("3", Conv1.Flatten); });
    }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) =>
        new ResidualBlock((Conv2dLayer)Conv3.Unflatten(reader), (Conv2dLayer)Conv1.Unflatten(reader));
}
