using VqVae.Tensors;

namespace VqVae.Functional;

/// <summary>
/// The named loss terms of one forward pass (DESIGN §4), tracked when computed under
/// <see cref="Grad"/>, plus what the training step needs next.
/// </summary>
/// <param name="Recon">Reconstruction term.</param>
/// <param name="Codebook">mean((z_q − NoDiff(z_e))²) (for the EMA quantizer reported but not differentiable).</param>
/// <param name="Commitment">mean((z_e − NoDiff(z_q))²).</param>
/// <param name="Total">recon + codebook + β·commitment (EMA: recon + β·commitment).</param>
/// <param name="Perplexity">Codebook perplexity of the batch.</param>
/// <param name="Quantized">The quantizer's result (z_e, z_q, indices, counts).</param>
/// <param name="XHat">The reconstruction x̂.</param>
/// <param name="Model">The input model with buffers (BatchNorm running statistics) updated by a training-mode pass; the input model otherwise.</param>
public sealed record LossTerms(Tensor Recon, Tensor Codebook, Tensor Commitment, Tensor Total, double Perplexity,
    Quantized Quantized, Tensor XHat, VqVaeModel Model)
{
    /// <summary>The four terms as untracked floats, for logs.</summary>
    public (float Recon, float Codebook, float Commitment, float Total) Values =>
        (Recon.ToScalar(), Codebook.ToScalar(), Commitment.ToScalar(), Total.ToScalar());

    /// <summary>The term called recon, codebook, commitment or total (DESIGN §6 gradient-file names).</summary>
    public Tensor Term(string name) => name switch
    {
        "recon" => Recon,
        "codebook" => Codebook,
        "commitment" => Commitment,
        "total" => Total,
        _ => throw new ArgumentException($"loss terms: unknown term '{name}'; expected recon, codebook, commitment or total.", nameof(name)),
    };

    /// <summary>The term names in DESIGN §6 order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["recon", "codebook", "commitment", "total"];
}

public static partial class VqVae
{
    /// <summary>
    /// The loss terms of <paramref name="model"/> on images <paramref name="x"/> [B,C,H,W], with β,
    /// the reconstruction kind and the quantizer kind from <paramref name="config"/>. Training mode
    /// (default) uses batch statistics in BatchNorm layers and returns the updated layers in
    /// <see cref="LossTerms.Model"/>.
    /// </summary>
    /// <example><code>
    /// var (total, aux, grads) = Grad.ValueAndGradWithAux(m => { var t = VqVae.LossTerms(cfg, m, x); return (t.Total, t); }, model);
    /// </code></example>
    public static LossTerms LossTerms(VqVaeConfig config, VqVaeModel model, Tensor x, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(config); ArgumentNullException.ThrowIfNull(model);
        CheckImages(model.Config, x, nameof(x));
        var (ze, encoder) = training ? model.Encoder.Train(x) : (model.Encoder.Apply(x), model.Encoder);
        CheckLatents(model, ze, "encoder output");
        var q = Quantizer.Quantize(CodebookFor(config, model), ze);
        var (xHat, decoder) = training ? model.Decoder.Train(q.DecoderInput) : (model.Decoder.Apply(q.DecoderInput), model.Decoder);
        var recon = Losses.Reconstruction(config.Reconstruction, xHat, x);
        var codebook = Losses.Codebook(q.ZQ, q.ZE);
        var commitment = Losses.Commitment(q.ZE, q.ZQ);
        var total = Losses.Total(config.Quantizer, config.Beta, recon, codebook, commitment);
        var updated = ReferenceEquals(encoder, model.Encoder) && ReferenceEquals(decoder, model.Decoder)
            ? model : model with { Encoder = encoder, Decoder = decoder };
        return new LossTerms(recon, codebook, commitment, total, q.Perplexity, q, xHat, updated);
    }

    /// <summary><see cref="LossTerms(VqVaeConfig, VqVaeModel, Tensor, bool)"/> with the model's own config.</summary>
    public static LossTerms LossTerms(VqVaeModel model, Tensor x, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        return LossTerms(model.Config, model, x, training);
    }

    /// <summary>The model with the buffer leaves (EMA statistics, BatchNorm running statistics) of <paramref name="source"/>
    /// and every other leaf of <paramref name="model"/>; e.g. to keep an optimizer's update and a training pass's statistics.</summary>
    public static VqVaeModel WithBuffersFrom(VqVaeModel model, VqVaeModel source)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(source);
        var groups = model.Groups();
        var src = Tree.Leaves(source);
        var dst = Tree.Leaves(model);
        if (src.Count != dst.Count) throw new ArgumentException($"model: the source has {src.Count} leaves, the model {dst.Count}.", nameof(source));
        return Tree.FromLeaves(model, dst.Select((l, i) => groups[i].Group == ParameterGroup.Buffer ? src[i].Value?.NoDiff() : l.Value).ToArray());
    }
}
