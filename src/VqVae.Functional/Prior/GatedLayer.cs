using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>
/// One gated layer of a Gated PixelCNN (van den Oord et al. 2016), F channels in and out of each stack:
/// <list type="bullet">
/// <item>vertical stack: a (k/2+1)×k convolution that sees the rows above and the current row
/// (rows i−k/2 … i, all k columns), gated: v' = tanh(a)·σ(b) over the two halves of 2F channels;</item>
/// <item>horizontal stack: a 1×k convolution masked to columns ≤ j (mask B) or &lt; j (mask A, first
/// layer), plus a 1×1 link from the vertical pre-activations <em>shifted down one row</em> (so the
/// horizontal stack only learns about rows &lt; i from it), gated, then a 1×1 convolution and a
/// residual connection (not in the first layer, whose input holds the current position);</item>
/// <item>optional conditioning added before both gates: a learned bias per class label, and a
/// 1×1 convolution of a conditioning map (VQ-VAE-2's top codes).</item>
/// </list>
/// Leaves (PyTorch names): <c>v_conv</c>, <c>h_conv</c>, <c>v_to_h</c>, <c>h_out</c> (weight, bias),
/// <c>class_cond.weight</c> [classes, 2F], <c>cond_conv.weight</c> [2F, F, 1, 1].
/// </summary>
public sealed record GatedLayer(Tensor VWeight, Tensor VBias, Tensor HWeight, Tensor HBias, Tensor LinkWeight, Tensor LinkBias,
    Tensor OutWeight, Tensor OutBias, Tensor? ClassEmbedding = null, Tensor? CondWeight = null) : IParameterTree<GatedLayer>
{
    /// <summary>PyTorch's conv initialisation (U(±1/√fan_in)); class embeddings N(0, 1) like nn.Embedding, scaled by 0.1.</summary>
    public static GatedLayer Init(Rng rng, int channels, int kernel, int classes, bool gridCondition)
    {
        int f = channels, c = kernel / 2;
        static Tensor U(Rng r, int fanIn, params int[] shape) { float b = 1f / MathF.Sqrt(fanIn); return Tensor.Uniform(r, -b, b, shape); }
        return new(
            U(rng.Fold(1), f * (c + 1) * kernel, 2 * f, f, c + 1, kernel), U(rng.Fold(2), f * (c + 1) * kernel, 2 * f),
            U(rng.Fold(3), f * kernel, 2 * f, f, 1, kernel), U(rng.Fold(4), f * kernel, 2 * f),
            U(rng.Fold(5), 2 * f, 2 * f, 2 * f, 1, 1), U(rng.Fold(6), 2 * f, 2 * f),
            U(rng.Fold(7), f, f, f, 1, 1), U(rng.Fold(8), f, f),
            classes > 0 ? Tensor.Normal(rng.Fold(9), 0f, 0.1f, classes, 2 * f) : null,
            gridCondition ? U(rng.Fold(10), f, 2 * f, f, 1, 1) : null);
    }

    /// <summary>The layer on (vertical, horizontal) feature maps [B,F,H,W].</summary>
    /// <param name="v">Vertical stack input.</param>
    /// <param name="h">Horizontal stack input.</param>
    /// <param name="first">True for the first layer: mask A, no residual.</param>
    /// <param name="labels">Class labels (one per sample), when the prior is class-conditional.</param>
    /// <param name="condition">Conditioning map [B,F,H,W], when the prior is conditioned on a code grid.</param>
    /// <param name="fault">A deliberate bug, for teeth tests only.</param>
    internal (Tensor V, Tensor H) Apply(Tensor v, Tensor h, bool first, int[]? labels, Tensor? condition, PriorFault fault)
    {
        int kernel = HWeight.Shape[3], c = kernel / 2, height = v.Shape[2];
        // rows i−c … i: pad c above and below, keep the first H output rows
        var vpre = Tensor.Conv2d(v, VWeight, VBias, 1, 1, c, c, 1, 1).Narrow(2, 0, height);
        var mask = CausalMasks.Horizontal(kernel, includeCentre: !first || fault == PriorFault.MaskBAtFirstLayer);
        var hpre = Tensor.MaskedConv2d(h, HWeight, mask, HBias, 0, c);
        var link = fault == PriorFault.VerticalSeesOwnRow ? vpre : CausalMasks.ShiftDown(vpre);
        hpre = hpre + Tensor.Conv2d(link, LinkWeight, LinkBias);
        if (labels is not null && ClassEmbedding is not null)
        {
            var bias = ClassEmbedding.GatherRows(labels).Reshape(labels.Length, -1, 1, 1);
            vpre = vpre + bias; hpre = hpre + bias;
        }
        if (condition is not null && CondWeight is not null)
        {
            var cc = Tensor.Conv2d(condition, CondWeight);
            vpre = vpre + cc; hpre = hpre + cc;
        }
        var hOut = Tensor.Conv2d(hpre.Gate(1), OutWeight, OutBias);
        return (vpre.Gate(1), first ? hOut : hOut + h);
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Leaf("v_conv.weight", VWeight); writer.Leaf("v_conv.bias", VBias);
        writer.Leaf("h_conv.weight", HWeight); writer.Leaf("h_conv.bias", HBias);
        writer.Leaf("v_to_h.weight", LinkWeight); writer.Leaf("v_to_h.bias", LinkBias);
        writer.Leaf("h_out.weight", OutWeight); writer.Leaf("h_out.bias", OutBias);
        if (ClassEmbedding is not null) writer.Leaf("class_cond.weight", ClassEmbedding);
        if (CondWeight is not null) writer.Leaf("cond_conv.weight", CondWeight);
    }

    /// <inheritdoc/>
    public GatedLayer Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new(reader.Leaf(), reader.Leaf(), reader.Leaf(), reader.Leaf(), reader.Leaf(), reader.Leaf(), reader.Leaf(), reader.Leaf(),
            ClassEmbedding is null ? null : reader.Leaf(), CondWeight is null ? null : reader.Leaf());
    }
}
