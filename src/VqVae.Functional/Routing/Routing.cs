using VqVae.Tensors;

namespace VqVae.Functional.Routing;

/// <summary>
/// Gradient routing of a VQ-VAE (DESIGN §8): which loss term reaches which parameter group, exactly
/// (a group is reached when some leaf gets a non-null gradient, not when a gradient is ≈ 0).
/// </summary>
/// <example><code>
/// var r = Routes.Reach(m => VqVaeModel.LossTerms(m, x).Codebook, model);
/// // r == new GroupReach(Encoder: false, Codebook: true, Decoder: false)
/// Console.WriteLine(Routes.Matrix(model, x));
/// </code></example>
public static class Routes
{
    /// <summary>Which groups the scalar <paramref name="f"/> reaches at <paramref name="model"/>.</summary>
    public static GroupReach Reach(Func<VqVaeModel, Tensor> f, VqVaeModel model)
    {
        ArgumentNullException.ThrowIfNull(model); // f is checked by Grad.ValueAndGrad, under the same name
        var (_, g) = Grad.ValueAndGrad(f, model);
        return ReachOf(g);
    }

    /// <summary>Which groups get a gradient in <paramref name="gradients"/> (buffers are ignored).</summary>
    public static GroupReach ReachOf(Gradients<VqVaeModel> gradients)
    {
        var norms = GroupNorms(gradients);
        return new(norms.Encoder is not null, norms.Codebook is not null, norms.Decoder is not null);
    }

    /// <summary>The routing matrix of the four loss terms at (model, x), with the model's own config (β, quantizer): one backward pass per term.</summary>
    public static RoutingMatrix Matrix(VqVaeModel model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rows = LossTerms.Names.Select(term =>
        {
            var (_, g) = Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Term(term), model);
            var (e, c, d) = GroupNorms(g);
            return new RoutingRow(term, e, c, d);
        }).ToArray();
        return new RoutingMatrix(rows);
    }

    /// <summary>Global gradient norm per group, null for a group none of whose leaves is reached (buffers are ignored).</summary>
    public static (double? Encoder, double? Codebook, double? Decoder) GroupNorms(Gradients<VqVaeModel> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var groups = gradients.Parameters.Groups();
        double?[] sums = new double?[3];
        for (int i = 0; i < gradients.Count; i++)
        {
            int slot = groups[i].Group switch { ParameterGroup.Encoder => 0, ParameterGroup.Codebook => 1, ParameterGroup.Decoder => 2, _ => -1 };
            // A plain local, not a pattern variable in the condition: a mutant of the condition then
            // still compiles (mutation testing would otherwise drop every mutant of this method).
            var g = gradients[i].Gradient;
            if (slot < 0 || g is null) continue;
            double s = 0;
            foreach (var v in g.ToArray()) s += (double)v * v;
            sums[slot] = (sums[slot] ?? 0) + s;
        }
        return (Sqrt(sums[0]), Sqrt(sums[1]), Sqrt(sums[2]));
        // HasValue rather than a pattern variable: a mutant of the condition then still compiles.
        static double? Sqrt(double? s) => s.HasValue ? Math.Sqrt(s.Value) : null;
    }
}
