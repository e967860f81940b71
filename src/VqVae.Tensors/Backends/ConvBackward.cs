namespace VqVae.Tensors.Backends;

/// <summary>
/// A backend's own record of one convolution forward pass (e.g. a libtorch autograd node), which
/// gives the gradients of the input and the weight in one call: libtorch has no separate conv
/// backward entry points, and recomputing the forward pass for the weight gradient would cost a
/// third more per layer. Made by <see cref="RawTensor.Conv2dTaped"/>; the bias gradient stays with
/// the AD layer (a sum of dy).
/// </summary>
public abstract class ConvBackward
{
    /// <summary>
    /// The gradients for output gradient <paramref name="dy"/>: the input's when asked at forward
    /// time (else null), the weight's when asked (else null). May be called more than once.
    /// </summary>
    public abstract (RawTensor? Input, RawTensor? Weight) Run(RawTensor dy);
}
