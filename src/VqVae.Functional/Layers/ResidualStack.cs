using System.Collections.Immutable;
using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>
/// Residual blocks in sequence followed by a ReLU (as in the paper and Sonnet's ResidualStack).
/// Leaves: <c>layers.{i}.block.1.weight</c>, … like a PyTorch module with <c>layers = nn.ModuleList(blocks)</c>.
/// </summary>
public sealed record ResidualStack(ImmutableArray<ResidualBlock> Blocks) : ILayer
{
    /// <summary><paramref name="count"/> PyTorch-initialised blocks.</summary>
    public static ResidualStack Init(Rng rng, int count, int channels, int inner)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, $"residualStack: count must be ≥ 0, got {count}.");
        return new([.. Enumerable.Range(0, count).Select(i => ResidualBlock.Init(rng.Fold(i), channels, inner))]);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor x)
    {
        foreach (var b in Blocks) x = b.Apply(x);
        return Tensor.Relu(x);
    }

    /// <inheritdoc/>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x) => (Apply(x), this);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Child("layers", w =>
        {
            for (int i = 0; i < Blocks.Length; i++) w.Child(i.ToString(CultureInfo.InvariantCulture), Blocks[i].Flatten);
        });
    }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) => new ResidualStack([.. Blocks.Select(b => (ResidualBlock)b.Unflatten(reader))]);
}
