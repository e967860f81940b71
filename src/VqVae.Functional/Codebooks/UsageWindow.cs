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

    /// <summary>Batches the window holds now.</summary>
    public int Steps { get; private set; }

    /// <summary>The usage over the window now.</summary>
    public CodeUsage Current => CodeUsage.FromCounts(sum);
}
