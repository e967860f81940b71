using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>The elementwise activations a layer stack may use.</summary>
public enum ActivationKind
{
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid,
    /// <summary>tanh x.</summary>
    Tanh,
    /// <summary>x.</summary>
    Identity,
}

/// <summary>An elementwise activation. It has no tensors but occupies an index in a <see cref="Sequential"/>, like in PyTorch.</summary>
public sealed record Activation(ActivationKind Kind) : ILayer
{
    /// <summary>ReLU.</summary>
    public static Activation Relu { get; } = new(ActivationKind.Relu);
    /// <summary>Sigmoid.</summary>
    public static Activation Sigmoid { get; } = new(ActivationKind.Sigmoid);
    /// <summary>Tanh.</summary>
    public static Activation Tanh { get; } = new(ActivationKind.Tanh);
    /// <summary>Identity.</summary>
    public static Activation Identity { get; } = new(ActivationKind.Identity);

    /// <inheritdoc/>
    public Tensor Apply(Tensor x) => Kind switch
    {
        ActivationKind.Relu => Tensor.Relu(x),
        ActivationKind.Sigmoid => Tensor.Sigmoid(x),
        ActivationKind.Tanh => Tensor.Tanh(x),
        ActivationKind.Identity => x,
        _ => throw new InvalidOperationException($"activation: unknown kind {Kind}."),
    };

    /// <inheritdoc/>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x) => (Apply(x), this);

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer) { }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) => this;
}
