using VqVae.Tensors;

namespace VqVae.Functional.Codebooks;

/// <summary>
/// k-means for codebook initialisation: k-means++ seeding (Arthur and Vassilvitskii 2007) then
/// Lloyd iterations. Deterministic: the same rows, K, key and iterations give the same codebook.
/// </summary>
/// <remarks>
/// K must not exceed the number of rows: with fewer rows than codes some codes would have to be
/// copies, so we refuse and ask for more rows (e.g. encoder outputs of more batches).
/// A cluster that loses all its rows in a Lloyd step keeps its previous centre.
/// </remarks>
/// <example><code>
/// var codebook = KMeans.Init(encoderRows, 512, Rng.Seed(0), iterations: 10);
/// </code></example>
public static class KMeans
{
    /// <summary>k-means++ seeding then <paramref name="iterations"/> Lloyd steps: a [K,D] codebook.</summary>
    public static Tensor Init(Tensor rows, int k, Rng rng, int iterations = 10) => Lloyd(rows, Seed(rows, k, rng), iterations);

    /// <summary>k-means++ seeding: the first centre is a uniformly drawn row, each next one a row drawn
    /// with probability proportional to its squared distance to the nearest centre chosen so far.</summary>
    public static Tensor Seed(Tensor rows, int k, Rng rng)
    {
        var (x, n, d) = Check(rows, k);
        var centres = new int[k];
        var best = new double[n];
        centres[0] = rng.IntAt(0, n);
        for (int i = 0; i < n; i++) best[i] = Dist2(x, i, x, centres[0], d);
        for (int c = 1; c < k; c++)
        {
            double total = 0;
            for (int i = 0; i < n; i++) total += best[i];
            int pick;
            if (total <= 0) pick = rng.IntAt(c, n); // every row sits on a centre: any row will do
            else
            {
                // Walk the running sum of the weights to the first row that takes it past u. That row has
                // weight (the sum grew there), so a row already on a centre is never picked; and the walk ends
                // inside the rows, as u = U·total with U < 1 and the sum reaches total in the same order.
                double u = rng.UniformAt(c) * total, acc = 0;
                pick = -1;
                while (acc <= u) acc += best[++pick];
            }
            centres[c] = pick;
            for (int i = 0; i < n; i++) best[i] = Math.Min(best[i], Dist2(x, i, x, pick, d));
        }
        using var _ = NoGradScope.Begin();
        return rows.NoDiff().GatherRows(centres);
    }

    /// <summary><paramref name="iterations"/> Lloyd steps from <paramref name="centres"/>: assign each row to its
    /// nearest centre, move each centre to the mean of its rows (empty clusters keep their centre).</summary>
    public static Tensor Lloyd(Tensor rows, Tensor centres, int iterations)
    {
        ArgumentNullException.ThrowIfNull(centres);
        var (_, n, d) = Check(rows, centres.Rank == 2 ? centres.Shape[0] : 1);
        if (centres.Rank != 2 || centres.Shape[1] != d) throw new ArgumentException($"kMeans: centres must be [K,{d}], got [{string.Join(",", centres.Shape)}].", nameof(centres));
        if (iterations < 0) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "kMeans: iterations must be ≥ 0.");
        int k = centres.Shape[0];
        using var _ = NoGradScope.Begin();
        var z = rows.NoDiff();
        var c = centres.NoDiff();
        for (int it = 0; it < iterations; it++)
        {
            var idx = z.NearestRows(c);
            var counts = CodeUsage.Count(idx, k);
            var sums = z.ScatterAddRows(idx, k).ToArray();
            var old = c.ToArray();
            for (int j = 0; j < k; j++)
                for (int t = 0; t < d; t++)
                    sums[j * d + t] = counts[j] > 0 ? sums[j * d + t] / counts[j] : old[j * d + t];
            c = Tensor.FromArray(c.Backend, sums, k, d);
        }
        return c;
    }

    /// <summary>Σ over rows of the squared distance to the nearest centre (in double).</summary>
    public static double Inertia(Tensor rows, Tensor centres)
    {
        ArgumentNullException.ThrowIfNull(rows); ArgumentNullException.ThrowIfNull(centres);
        var idx = rows.NearestRows(centres);
        var x = rows.ToArray(); var c = centres.ToArray();
        int d = rows.Shape[1];
        double s = 0;
        for (int i = 0; i < idx.Length; i++) s += Dist2(x, i, c, idx[i], d);
        return s;
    }

    private static (float[] X, int N, int D) Check(Tensor rows, int k)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Rank != 2 || rows.Shape[1] == 0) throw new ArgumentException($"kMeans: rows must be [N,D] with D ≥ 1, got [{string.Join(",", rows.Shape)}].", nameof(rows));
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "kMeans: K must be ≥ 1.");
        int n = rows.Shape[0];
        if (n < k) throw new ArgumentException($"kMeans: need at least K = {k} rows to place {k} distinct centres, got {n}; pass encoder outputs of more batches.", nameof(rows));
        var x = rows.ToArray();
        if (x.Any(v => !float.IsFinite(v))) throw new ArgumentException("kMeans: the rows hold NaN or infinity.", nameof(rows));
        return (x, n, rows.Shape[1]);
    }

    private static double Dist2(float[] a, int i, float[] b, int j, int d)
    {
        double s = 0;
        for (int t = 0; t < d; t++) { double v = (double)a[i * d + t] - b[j * d + t]; s += v * v; }
        return s;
    }
}
