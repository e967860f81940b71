using System.Collections.Immutable;
using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>
/// A Gated PixelCNN prior over grids of code indices (DESIGN §4 Generation): an embedding of the
/// codes, <see cref="PriorConfig.Layers"/> <see cref="GatedLayer"/>s (vertical and horizontal
/// stacks, mask A then B, no blind spot), and a 1×1 head (conv · tanh · conv, PyTorch Sequential indices 0 and 2) to K logits
/// per position. Immutable; the functions are in <see cref="PriorModel"/>.
/// Leaves (PyTorch names): <c>embedding.weight</c> [K,F], <c>layers.{i}.*</c>,
/// <c>cond_embedding.weight</c> [Kc,F] (grid condition only), <c>out.0.*</c> [F,F,1,1], <c>out.2.*</c> [K,F,1,1].
/// </summary>
public sealed record PixelCnnPrior(PriorConfig Config, Tensor Embedding, ImmutableArray<GatedLayer> Layers,
    Tensor Out0Weight, Tensor Out0Bias, Tensor Out2Weight, Tensor Out2Bias, Tensor? CondEmbedding = null) : IParameterTree<PixelCnnPrior>
{
    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Leaf("embedding.weight", Embedding);
        for (int i = 0; i < Layers.Length; i++) writer.Child($"layers.{i}", Layers[i]);
        if (CondEmbedding is not null) writer.Leaf("cond_embedding.weight", CondEmbedding);
        writer.Leaf("out.0.weight", Out0Weight); writer.Leaf("out.0.bias", Out0Bias);
        writer.Leaf("out.2.weight", Out2Weight); writer.Leaf("out.2.bias", Out2Bias);
    }

    /// <inheritdoc/>
    public PixelCnnPrior Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var emb = reader.Leaf();
        var layers = Layers.Select(l => l.Unflatten(reader)).ToImmutableArray();
        var cond = CondEmbedding is null ? null : reader.Leaf();
        return this with
        {
            Embedding = emb, Layers = layers, CondEmbedding = cond,
            Out0Weight = reader.Leaf(), Out0Bias = reader.Leaf(), Out2Weight = reader.Leaf(), Out2Bias = reader.Leaf(),
        };
    }
}
