using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>
/// A VQ-VAE as an immutable tree of tensors (DESIGN §4, §6). Its leaves carry PyTorch
/// <c>state_dict</c> names: <c>encoder.0.weight</c>, …, <c>vq.embedding.weight</c>,
/// (<c>vq.cluster_size</c>, <c>vq.ema_w</c> with an EMA quantizer), <c>decoder.0.weight</c>, ….
/// <see cref="Grad.ValueAndGrad{T}(Func{T, Tensor}, T)"/> returns its gradients as a
/// <see cref="Gradients{T}"/> under these names, missing where a loss does not reach.
/// </summary>
/// <example><code>
/// var model = VqVaeModel.Init(VqVaeConfig.Mnist, Rng.Seed(0));
/// var (loss, grads) = Grad.ValueAndGrad(m => VqVaeModel.LossTerms(m, x).Total, model);
/// Tensor? g = grads[VqVaeModel.CodebookName];   // null would mean: total does not reach the codebook
/// </code></example>
public sealed partial record VqVaeModel(VqVaeConfig Config, Encoder Encoder, Codebook Codebook, Decoder Decoder, EmaState? Ema = null)
    : IParameterTree<VqVaeModel>
{
    /// <summary>Leaf name of the codebook.</summary>
    public const string CodebookName = "vq.embedding.weight";
    /// <summary>Leaf name of the EMA cluster sizes.</summary>
    public const string ClusterSizeName = "vq.cluster_size";
    /// <summary>Leaf name of the EMA code sums.</summary>
    public const string EmaWName = "vq.ema_w";

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Child("encoder", Encoder);
        writer.Child("vq", w => { Codebook.Flatten(w); Ema?.Flatten(w); });
        writer.Child("decoder", Decoder);
    }

    /// <inheritdoc/>
    public VqVaeModel Unflatten(TreeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        // Same order as Flatten.
        var enc = Encoder.Unflatten(reader);
        var cb = Codebook.Unflatten(reader);
        var ema = Ema?.Unflatten(reader);
        var dec = Decoder.Unflatten(reader);
        return this with { Encoder = enc, Codebook = cb, Ema = ema, Decoder = dec };
    }

    /// <summary>A copy with the given parts replaced (C#'s <c>with</c> for F# callers).</summary>
    /// <example><code>let m2 = model.With(codebook = Codebook(newCodes))   // F#</code></example>
    public VqVaeModel With(VqVaeConfig? config = null, Encoder? encoder = null, Codebook? codebook = null, Decoder? decoder = null, EmaState? ema = null) =>
        this with { Config = config ?? Config, Encoder = encoder ?? Encoder, Codebook = codebook ?? Codebook, Decoder = decoder ?? Decoder, Ema = ema ?? Ema };

    /// <summary>Every leaf name with its group, in the tree's order.</summary>
    public IReadOnlyList<(string Name, ParameterGroup Group)> Groups()
    {
        var buffers = BufferNames();
        return Tree.Leaves(this).Select(l => (l.Name, GroupOf(l.Name, buffers))).ToArray();
    }

    /// <summary>The group of the leaf called <paramref name="name"/>.</summary>
    public ParameterGroup GroupOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Tree.Leaves(this).Any(l => l.Name == name))
            throw new ArgumentException($"model: no leaf is called '{name}'.", nameof(name));
        return GroupOf(name, BufferNames());
    }

    private HashSet<string> BufferNames()
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { ClusterSizeName, EmaWName };
        foreach (var n in Encoder.Layers.BufferNames) set.Add("encoder." + n);
        foreach (var n in Decoder.Layers.BufferNames) set.Add("decoder." + n);
        return set;
    }

    private static ParameterGroup GroupOf(string name, HashSet<string> buffers) =>
        buffers.Contains(name) ? ParameterGroup.Buffer
        : name.StartsWith("encoder.", StringComparison.Ordinal) ? ParameterGroup.Encoder
        : name.StartsWith("decoder.", StringComparison.Ordinal) ? ParameterGroup.Decoder
        : ParameterGroup.Codebook;

    /// <summary>The leaves by PyTorch state_dict name, in the tree's order (untracked tensors).</summary>
    /// <example><code>foreach (var (name, t) in model.ToStateDict()) Console.WriteLine($"{name} {string.Join("x", t.Shape)}");</code></example>
    public IReadOnlyDictionary<string, Tensor> ToStateDict()
    {
        var d = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var l in Tree.Leaves(this))
            d.Add(l.Name, l.Value.NoDiff());
        return d;
    }

    /// <summary>
    /// A model of <paramref name="config"/>'s shape holding the tensors of <paramref name="stateDict"/>
    /// (PyTorch names, DESIGN §6). Every leaf must be present with its exact shape. With
    /// <paramref name="strict"/> (default) names that are not leaves are errors; without it they are
    /// ignored, and missing EMA buffers start as <see cref="EmaState.Init"/> does (for a PyTorch model
    /// trained without EMA).
    /// </summary>
    /// <example><code>var model = VqVaeModel.FromStateDict(VqVaeConfig.Mnist, tensorsByName);</code></example>
    public static VqVaeModel FromStateDict(VqVaeConfig config, IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        // Stryker disable once Statement : VqVaeModel.Init refuses a null config the same way, by the same name
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        var template = VqVaeModel.Init(config, Rng.Seed(0));
        var leaves = Tree.Leaves(template);
        var (values, missing) = StateDicts.Take(leaves, stateDict);
        var emaOnly = missing.All(n => n is ClusterSizeName or EmaWName);
        if (missing.Count > 0 && (strict || !emaOnly))
            throw new ArgumentException($"state dict: missing {(missing.Count == 1 ? "key" : "keys")} {string.Join(", ", missing.Select(m => $"'{m}'"))}.", nameof(stateDict));
        if (strict)
        {
            var known = leaves.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
            var extra = stateDict.Keys.Where(k => !known.Contains(k)).ToArray();
            if (extra.Length > 0)
                throw new ArgumentException($"state dict: unexpected {(extra.Length == 1 ? "key" : "keys")} {string.Join(", ", extra.Take(10).Select(m => $"'{m}'"))}{(extra.Length > 10 ? ", …" : "")} (pass strict: false to ignore).", nameof(stateDict));
        }
        // Missing EMA buffers (allowed only when not strict) keep the template's value until replaced below.
        var model = Tree.FromLeaves(template, values.Select((v, i) => v ?? leaves[i].Value).ToArray());
        if (missing.Count > 0) model = model with { Ema = EmaState.Init(model.Codebook) };
        return model;
    }
}
