namespace VqVae.Tensors.Backends.Cpu;

/// <summary>The managed CPU backend: <see cref="CpuRawTensor"/> over our own kernels.</summary>
internal sealed class CpuBackend : Backend
{
    internal static readonly CpuBackend Instance = new();

    private CpuBackend() { }

    /// <inheritdoc/>
    public override string Name => "cpu";

    /// <inheritdoc/>
    public override RawTensor Create(float[] data, int[] shape) => new CpuRawTensor(data, shape);
}
