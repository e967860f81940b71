using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>The decoder: latents [B,D,h,w] → reconstructions [B,C,4h,4w]. Leaves <c>0.weight</c>, … (prefixed <c>decoder.</c> in the model).</summary>
public sealed record Decoder(Sequential Layers) : IParameterTree<Decoder>
{
    /// <summary>Evaluation-mode forward pass.</summary>
    public Tensor Apply(Tensor z) => Layers.Apply(z);

    /// <summary>Training-mode forward pass and the decoder with updated buffers.</summary>
    public (Tensor Output, Decoder Decoder) ApplyTraining(Tensor z)
    {
        var (y, l) = Layers.ApplyTraining(z);
        return (y, ReferenceEquals(l, Layers) ? this : new Decoder(l));
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) => Layers.Flatten(writer);

    /// <inheritdoc/>
    public Decoder Unflatten(TreeReader reader) => new(Layers.Unflatten(reader));
}
