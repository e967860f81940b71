using VqVae.Functional.Quantization;

namespace VqVae.Functional.Prior;

/// <summary>
/// What a conditional prior is conditioned on: a class label per sample, and/or a code grid per
/// sample (VQ-VAE-2's top codes for the bottom prior). Both are given, never predicted, so they
/// may be seen by every position.
/// </summary>
/// <param name="Labels">One class label per sample, or null.</param>
/// <param name="Codes">A conditioning code grid [B, Hc, Wc], or null.</param>
public sealed record PriorCondition(int[]? Labels = null, CodeIndices? Codes = null)
{
    /// <summary>No condition.</summary>
    public static readonly PriorCondition None = new();

    /// <summary>
    /// Throws (naming <paramref name="paramName"/>) unless the labels and the grids, where given, are one per code grid of a
    /// set of <paramref name="batch"/>: fewer would fail deep inside with an index error, more would be silently misaligned.
    /// </summary>
    internal void CheckOnePerGrid(int batch, string paramName)
    {
        if (Labels is not null && Labels.Length != batch)
            throw new ArgumentException($"prior: the condition has {Labels.Length} labels for {batch} code grids; give one per grid.", paramName);
        if (Codes is not null && Codes.Batch != batch)
            throw new ArgumentException($"prior: the condition has {Codes.Batch} code grids for {batch} code grids; give one per grid.", paramName);
    }

    /// <summary>Samples [start, start+count) of this condition (for batching).</summary>
    public PriorCondition Slice(int start, int count) => new(
        Labels?[start..(start + count)],
        Codes is null ? null : CodeIndices.Of(Codes.Values.Skip(start * Codes.Height * Codes.Width).Take(count * Codes.Height * Codes.Width).ToArray(), count, Codes.Height, Codes.Width));
}
