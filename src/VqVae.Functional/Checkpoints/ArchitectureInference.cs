using System.Text.RegularExpressions;

namespace VqVae.Functional.Checkpoints;

/// <summary>A config inferred from tensor names and shapes, and what had to be assumed.</summary>
/// <param name="Config">The inferred config.</param>
/// <param name="Assumptions">Settings the tensors cannot tell, with the value taken for each.</param>
public sealed record InferredConfig(VqVaeConfig Config, IReadOnlyList<string> Assumptions);

/// <summary>
/// Infers a VQ-VAE config from PyTorch state_dict names and shapes (a checkpoint saved without our
/// metadata): channels, hidden, K, D, architecture (reference, compact, residual), residual layers
/// and their width, and the EMA quantizer (from <c>vq.cluster_size</c>/<c>vq.ema_w</c>).
/// β, the reconstruction loss and the EMA decay and ε leave no trace in the tensors: they take
/// defaults (β = 0.25 unless given), listed in <see cref="InferredConfig.Assumptions"/>.
/// </summary>
public static partial class ArchitectureInference
{
    /// <summary>The config that fits <paramref name="shapes"/> (tensor name → shape).</summary>
    /// <exception cref="FormatException">A tensor the inference needs is missing or has an unexpected shape.</exception>
    /// <example><code>
    /// var inferred = ArchitectureInference.Infer(file.Entries.ToDictionary(e => e.Name, e => e.Shape));
    /// foreach (var a in inferred.Assumptions) Console.WriteLine(a);
    /// </code></example>
    public static InferredConfig Infer(IReadOnlyDictionary<string, int[]> shapes, float? beta = null)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var enc0 = Shape(shapes, "encoder.0.weight", 4);
        var enc2 = Shape(shapes, "encoder.2.weight", 4);
        var enc4 = Shape(shapes, "encoder.4.weight", 4);
        var emb = Shape(shapes, VqVaeModel.CodebookName, 2);
        bool hasSize = shapes.ContainsKey(VqVaeModel.ClusterSizeName), hasW = shapes.ContainsKey(VqVaeModel.EmaWName);
        if (hasSize != hasW)
            throw new FormatException($"'{(hasSize ? VqVaeModel.ClusterSizeName : VqVaeModel.EmaWName)}' is present but '{(hasSize ? VqVaeModel.EmaWName : VqVaeModel.ClusterSizeName)}' is not; an EMA quantizer needs both.");

        int channels = enc0[1], hidden = enc2[0], k = emb[0], d = emb[1];
        Architecture arch = (enc0[2], enc4[2]) switch
        {
            (4, 3) => Architecture.Reference,
            (4, 1) => Architecture.Residual,
            (3, 1) => Architecture.Compact,
            var (a, b) => throw new FormatException(
                $"cannot tell the architecture: encoder.0.weight has a {a}×{a} kernel and encoder.4.weight a {b}×{b} kernel; expected 4 and 3 (reference), 4 and 1 (residual) or 3 and 1 (compact)."),
        };

        int layers = 0, residualHidden = 0;
        if (arch == Architecture.Residual)
        {
            layers = shapes.Keys.Select(n => ResidualKey().Match(n)).Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1).DefaultIfEmpty(0).Max();
            if (layers > 0)
            {
                int inner = Shape(shapes, "encoder.3.layers.0.block.1.weight", 4)[0];
                residualHidden = inner == hidden ? 0 : inner;
            }
        }

        var reconstruction = arch == Architecture.Reference ? ReconstructionLoss.Mse : ReconstructionLoss.MseOverVariance;
        // Stryker disable once String : the preset name is replaced just below (PresetName ignores it)
        var config = new VqVaeConfig(channels, hidden, k, d, beta ?? 0.25f, reconstruction,
            hasSize ? QuantizerKind.Ema : QuantizerKind.Straight, layers, "custom", Architecture: arch, ResidualHidden: residualHidden);
        // The input range is the architecture's usual one too: [0, 1] for a sigmoid output, [-0.5, 0.5] otherwise.
        config = config with { InputShift = config.ImpliedInputShift };
        config = config with { Preset = PresetName(config) };

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var assumptions = new List<string>();
        if (beta is null) assumptions.Add("beta: not stored in the tensors; using 0.25 (pass beta to choose).");
        assumptions.Add($"reconstruction: not stored in the tensors; using {reconstruction} (the {arch} architecture's usual loss).");
        assumptions.Add(string.Create(inv, $"input shift: not stored in the tensors; using {config.InputShift} (the {arch} architecture's usual input range, [{config.InputShift}, {1 + config.InputShift}])."));
        if (hasSize) assumptions.Add(string.Create(inv, $"EMA decay and epsilon: not stored in the tensors; using {config.EmaDecay} and {config.EmaEpsilon}."));
        return new(config, assumptions);
    }

    // A preset's name when the shapes and the assumed settings are exactly that preset's.
    private static string PresetName(VqVaeConfig c)
    {
        foreach (var p in new[] { VqVaeConfig.Mnist, VqVaeConfig.Small, VqVaeConfig.MnistSmall, VqVaeConfig.Paper })
            if (c with { Preset = p.Preset, Beta = p.Beta, Quantizer = p.Quantizer } == p) return p.Preset;
        return "custom";
    }

    private static int[] Shape(IReadOnlyDictionary<string, int[]> shapes, string name, int rank)
    {
        if (!shapes.TryGetValue(name, out var s))
            throw new FormatException($"cannot infer the architecture: tensor '{name}' is missing.");
        if (s.Length != rank)
            throw new FormatException($"cannot infer the architecture: '{name}' must have {rank} dimensions, got [{string.Join(",", s)}].");
        return s;
    }

    [GeneratedRegex(@"^encoder\.3\.layers\.(\d+)\.")]
    private static partial Regex ResidualKey();
}
