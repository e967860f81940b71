namespace VqVae.Tensors.Backend.Cpu;

/// <summary>Nearest codebook row per input row (placeholder loops; a fused blocked kernel replaces it).</summary>
public static class NearestCode
{
    /// <summary>indices[i] = argmin_k ‖z_i‖²+‖e_k‖²−2 z_i·e_k, ties → lowest index.</summary>
    public static void Argmin(ReadOnlySpan<float> z, int n, int d, ReadOnlySpan<float> codebook, int k, Span<int> indices)
    {
        var en = new float[k];
        for (int j = 0; j < k; j++) en[j] = System.Numerics.Tensors.TensorPrimitives.Dot(codebook.Slice(j * d, d), codebook.Slice(j * d, d));
        for (int i = 0; i < n; i++)
        {
            var zi = z.Slice(i * d, d);
            float zn = System.Numerics.Tensors.TensorPrimitives.Dot(zi, zi);
            if (!float.IsFinite(zn)) throw new ArgumentException($"row {i} of z holds NaN or infinity.", nameof(z));
            int best = 0; float bv = float.PositiveInfinity;
            for (int j = 0; j < k; j++)
            {
                float dist = zn + en[j] - 2f * System.Numerics.Tensors.TensorPrimitives.Dot(zi, codebook.Slice(j * d, d));
                if (dist < bv) { bv = dist; best = j; }
            }
            indices[i] = best;
        }
    }
}
