using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>Which parameter groups of a VQ-VAE-2 a scalar function of the model reaches (has a gradient path to).</summary>
/// <param name="BottomEncoder">Some enc_b leaf gets a gradient.</param>
/// <param name="TopEncoder">Some enc_t / quantize_conv_t leaf gets a gradient.</param>
/// <param name="TopCodebook">The top codebook gets a gradient.</param>
/// <param name="TopDecoder">Some dec_t / quantize_conv_b leaf gets a gradient.</param>
/// <param name="BottomCodebook">The bottom codebook gets a gradient.</param>
/// <param name="Decoder">Some upsample_t / dec leaf gets a gradient.</param>
public sealed record LevelReach(bool BottomEncoder, bool TopEncoder, bool TopCodebook, bool TopDecoder, bool BottomCodebook, bool Decoder)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{{ BottomEncoder = {BottomEncoder}; TopEncoder = {TopEncoder}; TopCodebook = {TopCodebook}; TopDecoder = {TopDecoder}; BottomCodebook = {BottomCodebook}; Decoder = {Decoder} }}";
}

/// <summary>
/// Gradient routing of a VQ-VAE-2, exactly (a group is reached when some leaf gets a non-null gradient,
/// not when a gradient is ≈ 0), as <see cref="Routing.Routes"/> does for the single-level model.
/// </summary>
/// <example><code>
/// var r = VqVae2Routes.Reach(m => VqVae2Model.LossTerms(m, x).CodebookTop, model);
/// // r == new LevelReach(BottomEncoder: false, TopEncoder: false, TopCodebook: true, TopDecoder: false, BottomCodebook: false, Decoder: false)
/// </code></example>
public static class VqVae2Routes
{
    /// <summary>Which groups the scalar <paramref name="f"/> reaches at <paramref name="model"/>.</summary>
    public static LevelReach Reach(Func<VqVae2Model, Tensor> f, VqVae2Model model)
    {
        ArgumentNullException.ThrowIfNull(model); // f is checked by Grad.ValueAndGrad, under the same name
        var (_, g) = Grad.ValueAndGrad(f, model);
        return ReachOf(g);
    }

    /// <summary>Which groups get a gradient in <paramref name="gradients"/> (buffers are ignored).</summary>
    public static LevelReach ReachOf(Gradients<VqVae2Model> gradients)
    {
        var n = GroupNorms(gradients);
        return new(n.ContainsKey(LevelGroup.BottomEncoder), n.ContainsKey(LevelGroup.TopEncoder), n.ContainsKey(LevelGroup.TopCodebook),
            n.ContainsKey(LevelGroup.TopDecoder), n.ContainsKey(LevelGroup.BottomCodebook), n.ContainsKey(LevelGroup.Decoder));
    }

    /// <summary>The global gradient norm of each group that is reached (groups not reached are absent; buffers are ignored).</summary>
    public static IReadOnlyDictionary<LevelGroup, double> GroupNorms(Gradients<VqVae2Model> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var sums = new Dictionary<LevelGroup, double>();
        for (int i = 0; i < gradients.Count; i++)
        {
            var group = VqVae2Model.GroupOf(gradients[i].Name);
            var g = gradients[i].Gradient;
            if (group == LevelGroup.Buffer || g is null) continue;
            double s = 0;
            foreach (var v in g.ToArray()) s += (double)v * v;
            sums[group] = sums.GetValueOrDefault(group) + s;
        }
        return sums.ToDictionary(kv => kv.Key, kv => Math.Sqrt(kv.Value));
    }

    /// <summary>Each loss term's reach at (model, x), in the order of <see cref="VqVae2LossTerms.Names"/>: one backward pass per term.</summary>
    public static IReadOnlyList<(string Term, LevelReach Reach)> Matrix(VqVae2Model model, Tensor x)
    {
        // Stryker disable once Statement : equivalent, Reach (called for the first term) refuses a null model with the same exception and name
        ArgumentNullException.ThrowIfNull(model);
        return VqVae2LossTerms.Names.Select(t => (t, Reach(m => VqVae2Model.LossTerms(m, x).Term(t), model))).ToArray();
    }
}
