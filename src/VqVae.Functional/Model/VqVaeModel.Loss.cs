using VqVae.Tensors;

namespace VqVae.Functional.Model;

public sealed partial record VqVaeModel
{
    /// <summary>
    /// The loss terms of <paramref name="model"/> on images <paramref name="x"/> [B,C,H,W] (pixels in [0, 1]).
    /// β, the reconstruction kind, the quantizer kind and the input range all come from the model's
    /// own <see cref="VqVaeModel.Config"/> (to vary one, change the config on the model:
    /// <c>model with { Config = model.Config with { Beta = 0.5f } }</c>). Training mode (default) uses
    /// batch statistics in BatchNorm layers and returns the updated layers in <see cref="Losses.LossTerms.Model"/>;
    /// evaluation mode uses the running statistics and returns the model unchanged.
    /// </summary>
    /// <example><code>
    /// var (total, aux, grads) = Grad.ValueAndGradWithAux(m => { var t = VqVaeModel.LossTerms(m, x); return (t.Total, t); }, model);
    /// </code></example>
    public static LossTerms LossTerms(VqVaeModel model, Tensor x, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        CheckImages(config, x, nameof(x));
        var input = ToModelRange(config, x);
        var (ze, encoder) = training ? model.Encoder.ApplyTraining(input) : (model.Encoder.Apply(input), model.Encoder);
        CheckLatents(model, ze, "encoder output");
        var q = Quantizer.Quantize(CodebookFor(model), ze);
        var (y, decoder) = training ? model.Decoder.ApplyTraining(q.DecoderInput) : (model.Decoder.Apply(q.DecoderInput), model.Decoder);
        var xHat = ToPixels(config, y);
        var recon = Loss.Reconstruction(config.Reconstruction, xHat, x);
        var codebook = Loss.Codebook(q.ZQ, q.ZE);
        var commitment = Loss.Commitment(q.ZE, q.ZQ);
        var total = Loss.Total(config.Quantizer, config.Beta, recon, codebook, commitment);
        var updated = ReferenceEquals(encoder, model.Encoder) && ReferenceEquals(decoder, model.Decoder)
            ? model : model with { Encoder = encoder, Decoder = decoder };
        return new LossTerms(recon, codebook, commitment, total, q.Perplexity, q, xHat, updated);
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
        return Tree.FromLeaves(model, dst.Select((l, i) => groups[i].Group == ParameterGroup.Buffer ? src[i].Value.NoDiff() : l.Value).ToArray());
    }
}
