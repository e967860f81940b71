namespace VqVae.Tensors;

/// <summary>
/// An immutable, counter-based random key (JAX style): every draw is a pure function of the key
/// and an index, so results are the same on every run, machine and thread count.
/// Derive independent keys with <see cref="Split"/> or <see cref="Fold"/> instead of reusing one.
/// </summary>
/// <example><code>
/// var (k1, k2) = Rng.Seed(42).Split();
/// float[] u = k1.Uniform(10, -1f, 1f);
/// </code></example>
public readonly record struct Rng(ulong Key)
{
    /// <summary>A key from an integer seed.</summary>
    public static Rng Seed(long seed) => new(Mix((ulong)seed ^ 0x9E3779B97F4A7C15UL));

    /// <summary>A key derived from this one and a number (for per-step or per-item keys).</summary>
    public Rng Fold(long data) => new(Mix(Key ^ Mix((ulong)data + 0xD1B54A32D192ED03UL)));

    /// <summary>Two independent keys derived from this one.</summary>
    public (Rng, Rng) Split() => (Fold(1), Fold(2));

    /// <summary>The i-th 64 random bits of this key.</summary>
    public ulong Bits(long i) => Mix(Key + Mix((ulong)i * 0xBF58476D1CE4E5B9UL + 1UL));

    /// <summary>The i-th uniform float in [0, 1) (24 random bits).</summary>
    // Stryker disable once Bitwise : >>> is the same shift as >> on a ulong
    public float UniformAt(long i) => (Bits(i) >> 40) * (1f / (1 << 24));

    /// <summary>An integer uniform in [0, n) from the i-th draw.</summary>
    public int IntAt(long i, int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be positive.");
        // Stryker disable once Bitwise : >>> is >> on a ulong (the pinned-streams test kills <<, checked by hand)
        return (int)(((Bits(i) >> 32) * (ulong)n) >> 32);
    }

    /// <summary><paramref name="count"/> floats uniform in [lo, hi).</summary>
    public float[] Uniform(int count, float lo, float hi)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be non-negative.");
        var r = new float[count];
        for (int i = 0; i < count; i++) r[i] = lo + (hi - lo) * UniformAt(i);
        return r;
    }

    /// <summary><paramref name="count"/> floats from N(mean, std²) by Box–Muller.</summary>
    public float[] Normal(int count, float mean = 0f, float std = 1f)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be non-negative.");
        var r = new float[count];
        for (int i = 0; i < count; i += 2)
        {
            // Stryker disable once Bitwise,Arithmetic : >>> is >> on a ulong; u1's + 1.0 keeps log(u1) finite, and - 1.0 moves u1 by 2^-52, far below a float's precision, except when all 53 bits are 0 (probability 2^-53); the pinned-streams test kills the << and * mutants this also hides (checked by hand)
            double u1 = ((Bits(i) >> 11) + 1.0) / (1UL << 53);
            // Stryker disable once Bitwise : >>> is >> on a ulong (the pinned-streams test kills <<, checked by hand)
            double u2 = (Bits(i + 1) >> 11) / (double)(1UL << 53);
            double rad = Math.Sqrt(-2.0 * Math.Log(u1));
            r[i] = (float)(mean + std * rad * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) r[i + 1] = (float)(mean + std * rad * Math.Sin(2 * Math.PI * u2));
        }
        return r;
    }

    /// <summary>A permutation of 0..n-1 (Fisher–Yates driven by this key).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        // Stryker disable once Equality : i >= 0 is equivalent, at i = 0 IntAt(0, 1) is 0 and p[0] swaps with itself
        for (int i = n - 1; i > 0; i--)
        {
            int j = IntAt(i, i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    // SplitMix64 finaliser: a strong 64-bit mixing function.
    // Its lines are marked for Bitwise because >>> is the same shift as >> on a ulong; the SplitMix64 vectors
    // test kills the << and ~ mutants that the marks also hide (checked by hand).
    private static ulong Mix(ulong z)
    {
        // Stryker disable once Bitwise : >>> is >> on a ulong
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        // Stryker disable once Bitwise : >>> is >> on a ulong
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        // Stryker disable once Bitwise : >>> is >> on a ulong
        return z ^ (z >> 31);
    }
}
