using System.Collections.Immutable;

namespace VqVae.Functional.Codebooks;

/// <summary>
/// Code usage over the last <c>size</c> batches (a sliding window; 0 = everything so far).
/// Keeps a running sum and the window's per-batch counts, so each step costs O(K).
/// Mutable on purpose: it lives inside the trainer's loop and hands out immutable <see cref="CodeUsage"/> values.
/// </summary>
internal sealed class UsageWindow(int codes, int size)
{
    private readonly long[] sum = new long[codes];
    private readonly Queue<int[]> batches = new();

    /// <summary>Adds one batch's counts and drops the oldest batch once the window is full.</summary>
    public void Add(IReadOnlyList<int> counts)
    {
        if (counts.Count != codes) throw new ArgumentException($"usage window: counts for {counts.Count} codes, expected {codes}.", nameof(counts));
        var c = new int[codes];
        for (int k = 0; k < codes; k++) { c[k] = counts[k]; sum[k] += c[k]; }
        Steps++;
        if (size == 0) return;
        batches.Enqueue(c);
        if (batches.Count > size)
        {
            var old = batches.Dequeue();
            Steps--;
            for (int k = 0; k < codes; k++) sum[k] -= old[k];
        }
    }

    /// <summary>
    /// The window's per-batch counts, oldest first (for a checkpoint); with size 0 one row, the sum so far.
    /// Adding these rows to a new window of the same size gives the same window.
    /// </summary>
    public ImmutableArray<ImmutableArray<long>> Rows =>
        size == 0
            ? [[.. sum]]
            : [.. batches.Select(b => b.Select(c => (long)c).ToImmutableArray())];

    /// <summary>Adds saved rows (see <see cref="Rows"/>), oldest first.</summary>
    public void AddRows(IEnumerable<IReadOnlyList<long>> rows)
    {
        foreach (var r in rows)
        {
            if (r.Count != codes) throw new ArgumentException($"usage window: a saved row has counts for {r.Count} codes, expected {codes}.", nameof(rows));
            if (size == 0)
            {
                // The whole-run window keeps only the sum: a saved sum row is added to it as it is.
                if (r.Any(c => c < 0)) throw new ArgumentException("usage window: saved counts must be ≥ 0.", nameof(rows));
                for (int k = 0; k < codes; k++) sum[k] += r[k];
                Steps++;
                continue;
            }
            if (r.Any(c => c < 0 || c > int.MaxValue)) throw new ArgumentException("usage window: a saved batch's counts must be in [0, 2^31).", nameof(rows));
            Add(r.Select(c => (int)c).ToArray());
        }
    }

    /// <summary>Batches the window holds now.</summary>
    public int Steps { get; private set; }

    /// <summary>The usage over the window now.</summary>
    public CodeUsage Current => CodeUsage.FromCounts(sum);
}
