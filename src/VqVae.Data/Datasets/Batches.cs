using VqVae.Tensors;

namespace VqVae.Data.Datasets;

/// <summary>
/// A minibatch: images <c>[Count, Channels, Height, Width]</c>, their labels, the dataset indices
/// they came from, and which epoch and batch of that epoch they are.
/// </summary>
public sealed record Batch(float[] Images, int[] Labels, int[] Indices, int Count, int Channels, int Height, int Width, int Epoch, int Number);

/// <summary>
/// Seeded shuffling and batching. Epoch e visits the dataset in the order
/// <c>rng.Fold(e).Permutation(N)</c>, so every epoch is a different shuffle, the same on every run,
/// and epoch e does not depend on how many epochs came before it.
/// The last batch of an epoch holds the N mod B leftover images when <c>dropLast</c> is false (the
/// default: every image is seen once per epoch), and is skipped when it is true (every batch has
/// exactly B images).
/// </summary>
/// <example><code>
/// foreach (var batch in Batches.Stream(data, 64, Rng.Seed(1), dropLast: true).Take(1000))
///     Train(batch.Images);
/// </code></example>
public static class Batches
{
    /// <summary>The batches of epoch <paramref name="epoch"/>, shuffled by <paramref name="rng"/>.</summary>
    public static IEnumerable<Batch> Epoch(Dataset data, int batchSize, Rng rng, int epoch, bool dropLast = false)
    {
        Check(data, batchSize, epoch);
        return Make(data, batchSize, rng.Fold(epoch).Permutation(data.Count), epoch, dropLast);
    }

    /// <summary>The batches in dataset order, no shuffling (for evaluation and reconstructions).</summary>
    public static IEnumerable<Batch> Sequential(Dataset data, int batchSize, bool dropLast = false)
    {
        Check(data, batchSize, 0);
        return Make(data, batchSize, Enumerable.Range(0, data.Count).ToArray(), 0, dropLast);
    }

    /// <summary>Epoch after epoch without end, starting at <paramref name="firstEpoch"/>; take as many as needed.</summary>
    public static IEnumerable<Batch> Stream(Dataset data, int batchSize, Rng rng, bool dropLast = false, int firstEpoch = 0)
    {
        Check(data, batchSize, firstEpoch);
        if (PerEpoch(data.Count, batchSize, dropLast) == 0)
            throw new ArgumentException($"With {data.Count} images and batch size {batchSize}, dropLast leaves no batch in an epoch.", nameof(dropLast));
        return Forever();

        IEnumerable<Batch> Forever()
        {
            for (int e = firstEpoch; ; e++)
                foreach (var b in Make(data, batchSize, rng.Fold(e).Permutation(data.Count), e, dropLast))
                    yield return b;
        }
    }

    /// <summary>
    /// <see cref="Stream"/> from its batch number <paramref name="position"/> on (0-based): the batches a run that
    /// has taken <paramref name="position"/> batches of the stream takes next (a resumed run continues the data order).
    /// </summary>
    public static IEnumerable<Batch> StreamFrom(Dataset data, int batchSize, Rng rng, bool dropLast, long position)
    {
        Check(data, batchSize, 0);
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "position must be non-negative.");
        int per = PerEpoch(data.Count, batchSize, dropLast);
        if (per == 0) throw new ArgumentException($"With {data.Count} images and batch size {batchSize}, dropLast leaves no batch in an epoch.", nameof(dropLast));
        long epoch = position / per;
        if (epoch > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(position), position, $"position is beyond epoch {int.MaxValue}.");
        return Stream(data, batchSize, rng, dropLast, (int)epoch).Skip((int)(position % per));
    }

    /// <summary>Batches per epoch: ⌈N / B⌉, or ⌊N / B⌋ with <paramref name="dropLast"/>.</summary>
    public static int PerEpoch(int count, int batchSize, bool dropLast = false)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be non-negative.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        return dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;
    }

    private static IEnumerable<Batch> Make(Dataset data, int batchSize, int[] order, int epoch, bool dropLast)
    {
        int batches = PerEpoch(data.Count, batchSize, dropLast);
        for (int b = 0; b < batches; b++)
        {
            int start = b * batchSize, n = Math.Min(batchSize, data.Count - start);
            int[] idx = order[start..(start + n)];
            var picked = data.Select(idx);
            yield return new Batch(picked.Images, picked.Labels, idx, n, data.Channels, data.Height, data.Width, epoch, b);
        }
    }

    private static void Check(Dataset data, int batchSize, int epoch)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be non-negative.");
    }
}
