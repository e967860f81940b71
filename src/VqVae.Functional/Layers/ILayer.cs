using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>
/// One layer of an encoder or decoder: a pure function of its input plus the tensors it holds.
/// The set is closed: <see cref="Conv2dLayer"/>, <see cref="ConvTranspose2dLayer"/>,
/// <see cref="Activation"/>, <see cref="ResidualBlock"/>, <see cref="ResidualStack"/>, <see cref="BatchNorm2d"/>.
/// Leaves are written with PyTorch names relative to the layer (<c>weight</c>, <c>bias</c>, …).
/// Every tensor is always present (no optional bias), so a gradient tree, where leaves may be null,
/// has exactly the same leaves as the model.
/// </summary>
public interface ILayer
{
    /// <summary>The layer in evaluation mode (BatchNorm uses its running statistics).</summary>
    Tensor Apply(Tensor x);

    /// <summary>The layer in training mode: the output and the layer with updated buffers
    /// (BatchNorm's running statistics; every other layer returns itself).</summary>
    (Tensor Output, ILayer Layer) ApplyTraining(Tensor x);

    /// <summary>Writes the layer's tensors in a fixed order.</summary>
    void Flatten(TreeWriter writer);

    /// <summary>A layer of this shape holding the next tensors from <paramref name="reader"/>.</summary>
    ILayer Unflatten(TreeReader reader);

    /// <summary>Names (relative to the layer) of leaves that are buffers, not trainable parameters.</summary>
    IEnumerable<string> BufferNames => [];
}
