using System.Collections.Immutable;
using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>
/// Layers applied in order, PyTorch's <c>nn.Sequential</c>: leaves are named by position
/// (<c>0.weight</c>, <c>0.bias</c>, <c>2.weight</c>, …); an activation takes an index but has no leaves.
/// </summary>
/// <example><code>
/// var net = Sequential.Of(Conv2dLayer.Init(rng, 1, 8, 3, padding: 1), Activation.Relu);
/// var y = net.Apply(x);
/// </code></example>
public sealed record Sequential(ImmutableArray<ILayer> Layers) : ILayer, IParameterTree<Sequential>
{
    /// <summary>A stack of the given layers.</summary>
    public static Sequential Of(params ILayer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
            if (layers[i] is null) throw new ArgumentNullException(nameof(layers), $"sequential: layers[{i}] is null.");
        return new([.. layers]);
    }

    /// <summary>Number of layers.</summary>
    public int Count => Layers.Length;

    /// <inheritdoc/>
    public Tensor Apply(Tensor x)
    {
        foreach (var l in Layers) x = l.Apply(x);
        return x;
    }

    /// <summary>Training mode: the output and the stack with every layer's updated buffers.</summary>
    public (Tensor Output, Sequential Layer) ApplyTraining(Tensor x)
    {
        var next = ImmutableArray.CreateBuilder<ILayer>(Layers.Length);
        bool changed = false;
        foreach (var l in Layers)
        {
            (x, var l2) = l.ApplyTraining(x);
            changed |= !ReferenceEquals(l, l2);
            next.Add(l2);
        }
        return (x, changed ? new Sequential(next.MoveToImmutable()) : this);
    }

    (Tensor Output, ILayer Layer) ILayer.ApplyTraining(Tensor x) => ApplyTraining(x);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        for (int i = 0; i < Layers.Length; i++) writer.Child(Index(i), Layers[i].Flatten);
    }

    /// <inheritdoc/>
    public Sequential Unflatten(TreeReader reader) => new([.. Layers.Select(l => l.Unflatten(reader))]);

    ILayer ILayer.Unflatten(TreeReader reader) => Unflatten(reader);

    /// <inheritdoc/>
    public IEnumerable<string> BufferNames =>
        Layers.SelectMany((l, i) => l.BufferNames.Select(n => Index(i) + "." + n));

    private static string Index(int i) => i.ToString(CultureInfo.InvariantCulture);
}
