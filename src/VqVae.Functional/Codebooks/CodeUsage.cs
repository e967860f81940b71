using System.Collections.Immutable;

namespace VqVae.Functional.Codebooks;

/// <summary>
/// How often each code was chosen, accumulated over an epoch. Immutable: <see cref="Add"/>
/// returns a new accumulator. Used for perplexity over the epoch, dead-code counts and restarts.
/// </summary>
/// <example><code>
/// var usage = CodeUsage.Empty(512);
/// foreach (var batch in epoch) usage = usage.Add(Encode(batch).Indices);
/// Console.WriteLine($"{usage.Used} used, {usage.Dead} dead, perplexity {usage.Perplexity:F1}");
/// </code></example>
public sealed record CodeUsage
{
    /// <summary>Per code, the number of rows assigned to it.</summary>
    public ImmutableArray<long> Counts { get; }

    private CodeUsage(ImmutableArray<long> counts) => Counts = counts;

    /// <summary>No rows seen yet, for <paramref name="codes"/> codes.</summary>
    public static CodeUsage Empty(int codes)
    {
        if (codes < 1) throw new ArgumentOutOfRangeException(nameof(codes), codes, "codeUsage: the number of codes must be ≥ 1.");
        return new(ImmutableArray.CreateRange(new long[codes]));
    }

    /// <summary>Usage from existing counts.</summary>
    public static CodeUsage FromCounts(IEnumerable<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var c = counts.ToImmutableArray();
        if (c.Length < 1 || c.Any(x => x < 0)) throw new ArgumentException("codeUsage: counts must be non-empty and non-negative.", nameof(counts));
        return new(c);
    }

    /// <summary>Number of codes K.</summary>
    public int Codes => Counts.Length;
    /// <summary>Rows counted so far.</summary>
    public long Total => Counts.Sum();
    /// <summary>Codes chosen at least once.</summary>
    public int Used => Counts.Count(c => c > 0);
    /// <summary>Codes never chosen.</summary>
    public int Dead => Codes - Used;
    /// <summary>The indices of the codes chosen by fewer than <paramref name="threshold"/> rows, ascending.</summary>
    public int[] Below(long threshold) => Enumerable.Range(0, Codes).Where(i => Counts[i] < threshold).ToArray();
    /// <summary>The indices of the codes never chosen, ascending.</summary>
    public int[] DeadCodes => Enumerable.Range(0, Codes).Where(i => Counts[i] == 0).ToArray();
    /// <summary>exp(−Σ p_k ln p_k) over the counts so far (1 when nothing was counted).</summary>
    public double Perplexity => PerplexityOf(Counts.AsSpan());

    /// <summary>This usage plus one batch of indices.</summary>
    public CodeUsage Add(int[] indices)
    {
        var add = Count(indices, Codes);
        var b = Counts.ToBuilder();
        for (int i = 0; i < add.Length; i++) b[i] += add[i];
        return new(b.MoveToImmutable());
    }

    /// <summary>The sum of two accumulators over the same codebook.</summary>
    public CodeUsage Merge(CodeUsage other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Codes != Codes) throw new ArgumentException($"codeUsage: cannot merge usage over {other.Codes} codes into usage over {Codes}.", nameof(other));
        return new(Counts.Zip(other.Counts, (a, b) => a + b).ToImmutableArray());
    }

    /// <summary>Per code, how many of <paramref name="indices"/> point at it: the library's one way of counting codes.</summary>
    public static long[] Count(int[] indices, int codes)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Count(indices.AsSpan(), codes);
    }

    /// <summary>Per code, how many of <paramref name="indices"/> point at it.</summary>
    public static long[] Count(ReadOnlySpan<int> indices, int codes)
    {
        if (codes < 1) throw new ArgumentOutOfRangeException(nameof(codes), codes, "codeUsage: the number of codes must be ≥ 1.");
        var c = new long[codes];
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)codes) throw new ArgumentOutOfRangeException(nameof(indices), $"codeUsage: indices[{i}] = {indices[i]} is outside [0, {codes - 1}].");
            c[indices[i]]++;
        }
        return c;
    }

    /// <summary>Perplexity of one batch of indices: exp(−Σ p_k ln p_k), p_k the share of rows on code k (DESIGN §4).</summary>
    public static double PerplexityOf(int[] indices, int codes) => PerplexityOf(Count(indices, codes));

    /// <summary>
    /// exp(−Σ p_k ln p_k) with p_k = counts[k] / Σ counts (0·ln 0 = 0), in double: the library's one perplexity.
    /// No rows at all (every count 0) give 1, the perplexity of a distribution with no spread; negative counts are refused.
    /// </summary>
    public static double PerplexityOf(ReadOnlySpan<long> counts)
    {
        double total = 0;
        foreach (var c in counts)
        {
            if (c < 0) throw new ArgumentException($"perplexity: counts must be ≥ 0, got {c}.", nameof(counts));
            total += c;
        }
        if (total == 0) return 1.0;
        double h = 0;
        foreach (var c in counts)
            if (c > 0) { double p = c / total; h -= p * Math.Log(p); }
        return Math.Exp(h);
    }
}
