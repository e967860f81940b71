using VqVae.Functional.Model;
using VqVae.Tensors;

namespace VqVae.Functional.Hierarchical;

/// <summary>
/// One level's quantizer state: its codebook [K, D] and, with an EMA quantizer, its EMA statistics.
/// Leaves <c>embedding.weight</c>, (<c>cluster_size</c>, <c>ema_w</c>), as the single-level model's <c>vq.</c>.
/// </summary>
/// <param name="Codebook">The level's codes.</param>
/// <param name="Ema">EMA statistics (buffers), or null for a gradient-trained codebook.</param>
public sealed record QuantizerLevel(Codebook Codebook, EmaState? Ema = null) : IParameterTree<QuantizerLevel>
{
    /// <summary>A level of <paramref name="size"/> codes of width <paramref name="dim"/>, U(−1/K, 1/K), with EMA state when asked for.</summary>
    public static QuantizerLevel Init(Rng rng, int size, int dim, QuantizerKind kind)
    {
        var cb = Codebook.Init(rng, size, dim);
        return new(cb, kind == QuantizerKind.Ema ? EmaState.Init(cb) : null);
    }

    /// <summary>The codebook as the quantizer sees it: through a stop-gradient when it learns by EMA (it then gets no gradient at all).</summary>
    public Tensor ForQuantizer(QuantizerKind kind) => kind == QuantizerKind.Ema ? Codebook.Embedding.NoDiff() : Codebook.Embedding;

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Codebook.Flatten(writer);
        Ema?.Flatten(writer);
    }

    /// <inheritdoc/>
    public QuantizerLevel Unflatten(TreeReader reader) => new(Codebook.Unflatten(reader), Ema?.Unflatten(reader));
}
