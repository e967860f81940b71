using VqVae.Tensors;

namespace VqVae.Functional.Prior;

/// <summary>Deliberate bugs a teeth test switches on to show the causality property can fail.</summary>
internal enum PriorFault
{
    None,
    /// <summary>The first layer's horizontal mask includes the centre tap (mask B instead of A): logits[p] see code p.</summary>
    MaskBAtFirstLayer,
    /// <summary>The vertical-to-horizontal link is not shifted down: the horizontal stack sees the rest of its own row.</summary>
    VerticalSeesOwnRow,
    /// <summary>The stacks' output of each sample adds the batch mean: one sample's logits see the others' codes.</summary>
    MixesSamples,
}

/// <summary>The raster-order causality pieces of the Gated PixelCNN.</summary>
public static class CausalMasks
{
    /// <summary>
    /// The horizontal stack's [1,k] mask: columns left of the centre, and the centre itself for mask
    /// B (layers after the first, whose input at p already depends only on positions before p).
    /// Mask A (first layer) leaves the centre out, so a position never sees its own code.
    /// </summary>
    public static Tensor Horizontal(int kernel, bool includeCentre)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "causal mask: kernel must be odd and ≥ 1.");
        var m = new float[kernel];
        for (int j = 0; j < kernel / 2 + (includeCentre ? 1 : 0); j++) m[j] = 1f;
        return Tensor.FromArray(m, 1, kernel);
    }

    /// <summary>
    /// Feature maps [B,C,H,W] moved down one row (row 0 becomes zeros, the last row drops out): the
    /// vertical stack at row i has seen row i, so the horizontal stack takes it from row i−1.
    /// </summary>
    public static Tensor ShiftDown(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"shiftDown: expected [B,C,H,W], got {ShapeUtil.Format(x.Shape)}.", nameof(x));
        var s = x.Shape;
        var zeros = Tensor.Full(x.Backend, 0f, s[0], s[1], 1, s[3]);
        // Stryker disable once Conditional : equivalent, with one row the concatenation adds an empty slice to the zeros (the branch only skips it)
        return s[2] == 1 ? zeros : Tensor.Cat([zeros, x.Narrow(2, 0, s[2] - 1)], 2);
    }
}
