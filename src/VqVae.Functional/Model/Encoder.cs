using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>The encoder: images [B,C,H,W] → latents z_e [B,D,H/4,W/4]. Leaves <c>0.weight</c>, … (prefixed <c>encoder.</c> in the model).</summary>
public sealed record Encoder(Sequential Layers) : IParameterTree<Encoder>
{
    /// <summary>Evaluation-mode forward pass.</summary>
    public Tensor Apply(Tensor x) => Layers.Apply(x);

    /// <summary>Training-mode forward pass and the encoder with updated buffers.</summary>
    public (Tensor Output, Encoder Encoder) ApplyTraining(Tensor x)
    {
        var (y, l) = Layers.ApplyTraining(x);
        return (y, ReferenceEquals(l, Layers) ? this : new Encoder(l));
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) => Layers.Flatten(writer);

    /// <inheritdoc/>
    public Encoder Unflatten(TreeReader reader) => new(Layers.Unflatten(reader));
}
