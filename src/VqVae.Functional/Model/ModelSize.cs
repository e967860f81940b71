namespace VqVae.Functional.Model;

/// <summary>
/// How many values a config's model holds, computed from the config alone (checked 64-bit
/// arithmetic, nothing allocated). Readers use it to refuse a config that does not fit a file's
/// tensors before building any model; the resource plan uses it to estimate memory.
/// </summary>
/// <example><code>long n = ModelSize.Values(VqVaeConfig.Mnist);   // every leaf of VqVaeModel.Init(Mnist), EMA buffers included</code></example>
public static class ModelSize
{
    /// <summary>
    /// The number of float values in every leaf of <c>VqVaeModel.Init(config, …)</c>: encoder, codebook,
    /// EMA buffers (with <see cref="QuantizerKind.Ema"/>) and decoder.
    /// </summary>
    /// <exception cref="OverflowException">The count does not fit in 64 bits (no such model can be built).</exception>
    public static long Values(VqVaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long C = config.Channels, h = config.Hidden, K = config.CodebookSize, D = config.CodeDim, L = config.ResidualLayers, r = config.ResidualChannels;
        checked
        {
            long Conv(long i, long o, long k) => o * i * k * k + o;
            long Residual() => L * (Conv(h, r, 3) + Conv(r, h, 1));
            long stacks = config.Architecture switch
            {
                Architecture.Reference => Conv(C, h, 4) + Conv(h, h, 4) + Conv(h, D, 3) + Conv(D, h, 3) + Conv(h, h, 4) + Conv(h, C, 4),
                Architecture.Compact => Conv(C, h / 2, 3) + Conv(h / 2, h, 3) + Conv(h, D, 1) + Conv(D, h, 3) + Conv(h, h / 2, 3) + Conv(h / 2, C, 3),
                Architecture.Residual => Conv(C, h, 4) + Conv(h, h, 4) + Residual() + Conv(h, D, 1) + Conv(D, h, 3) + Residual() + Conv(h, h, 4) + Conv(h, C, 4),
                _ => throw new ArgumentException($"config: unknown architecture {config.Architecture}.", nameof(config)),
            };
            long codebook = K * D + (config.Quantizer == QuantizerKind.Ema ? K + K * D : 0);
            return stacks + codebook;
        }
    }

    /// <summary>Like <see cref="Values"/>, or <see cref="long.MaxValue"/> when the count overflows 64 bits.</summary>
    public static long ValuesSaturated(VqVaeConfig config)
    {
        try { return Values(config); }
        catch (OverflowException) { return long.MaxValue; }
    }
}
