using MathNet.Numerics.LinearAlgebra;

namespace VqVae.Data.Charts;

/// <summary>
/// The codebook seen in 2-D: each code vector projected on the first two principal components of
/// the codebook (PCA through MathNet.Numerics' SVD of the centred K×D matrix).
/// </summary>
/// <param name="X">Each code's coordinate along the first principal component.</param>
/// <param name="Y">Each code's coordinate along the second (0 when D = 1).</param>
/// <param name="Explained">The share of the codebook's variance along each of the two components (in [0, 1]; 0 when the codebook has none).</param>
public sealed record CodebookProjection(double[] X, double[] Y, double[] Explained)
{
    /// <summary>
    /// Projects <paramref name="codes"/> vectors of <paramref name="dim"/> values each (row-major
    /// <paramref name="codebook"/>, e.g. <c>vq.embedding.weight</c>). Each axis's sign is fixed so
    /// that its largest loading is positive, so the same codebook always gives the same picture.
    /// </summary>
    public static CodebookProjection Pca(float[] codebook, int codes, int dim)
    {
        ArgumentNullException.ThrowIfNull(codebook);
        if (codes < 1) throw new ArgumentOutOfRangeException(nameof(codes), codes, "codes must be at least 1.");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "dim must be at least 1.");
        if (codebook.Length != (long)codes * dim)
            throw new ArgumentException($"codebook must hold codes·dim = {codes}·{dim} = {(long)codes * dim} values, but has {codebook.Length}.", nameof(codebook));
        for (int i = 0; i < codebook.Length; i++)
            if (!float.IsFinite(codebook[i])) throw new ArgumentException($"codebook[{i}] is {codebook[i]}; the codebook must be finite.", nameof(codebook));

        var m = Matrix<double>.Build.Dense(codes, dim, (i, j) => codebook[i * dim + j]);
        var mean = m.ColumnSums() / codes;
        var centred = Matrix<double>.Build.Dense(codes, dim, (i, j) => m[i, j] - mean[j]);
        var svd = centred.Svd(computeVectors: true);
        var s = svd.S;
        double all = s.PointwisePower(2).Sum();
        var x = new double[codes];
        var y = new double[codes];
        var explained = new double[2];
        for (int c = 0; c < Math.Min(2, Math.Min(codes, dim)); c++)
        {
            var axis = svd.VT.Row(c);
            if (axis[axis.AbsoluteMaximumIndex()] < 0) axis = -axis;
            var scores = centred * axis;
            var target = c == 0 ? x : y;
            for (int i = 0; i < codes; i++) target[i] = scores[i];
            explained[c] = all > 0 ? s[c] * s[c] / all : 0;
        }
        return new CodebookProjection(x, y, explained);
    }
}
