using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>The K codes, a [K,D] table (PyTorch <c>vq.embedding.weight</c>).</summary>
public sealed record Codebook(Tensor Embedding) : IParameterTree<Codebook>
{
    /// <summary>Number of codes K.</summary>
    public int Size => Embedding.Shape[0];
    /// <summary>Code dimension D.</summary>
    public int Dim => Embedding.Shape[1];

    /// <summary>U(−1/K, 1/K), as the reference model initialises its codebook.</summary>
    public static Codebook Init(Rng rng, int size, int dim)
    {
        LayerChecks.Positive("codebook", nameof(size), size);
        LayerChecks.Positive("codebook", nameof(dim), dim);
        return new(Tensor.Uniform(rng, -1f / size, 1f / size, size, dim));
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) => writer.Leaf("embedding.weight", Embedding);

    /// <inheritdoc/>
    public Codebook Unflatten(TreeReader reader) => new(reader.Leaf());
}

/// <summary>
/// The EMA quantizer's statistics (buffers, never differentiated): per-code cluster size N_k [K] and
/// per-code sum of assigned z_e, m_k [K,D] (PyTorch <c>vq.cluster_size</c>, <c>vq.ema_w</c>).
/// </summary>
public sealed record EmaState(Tensor ClusterSize, Tensor EmaW) : IParameterTree<EmaState>
{
    /// <summary>The starting state we chose: cluster size 1 per code and sums equal to the codebook,
    /// so that m_k / N_k is the codebook from the start and a code no row picks stays where it is.
    /// (With cluster sizes 0 the first update divides an unused code's decayed sum γ·e_k by a
    /// smoothed count of about ε and throws the code ~γ/ε times further out.) <see cref="Codebooks.Ema.UnitCounts"/> of the codebook.</summary>
    public static EmaState Init(Codebook codebook)
    {
        ArgumentNullException.ThrowIfNull(codebook);
        return Codebooks.Ema.UnitCounts(codebook.Embedding);
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) { writer.Leaf("cluster_size", ClusterSize); writer.Leaf("ema_w", EmaW); }

    /// <inheritdoc/>
    public EmaState Unflatten(TreeReader reader) => new(reader.Leaf(), reader.Leaf());
}
