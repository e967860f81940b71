namespace VqVae.Tensors.Backend.Cpu;

/// <summary>Single-precision matrix multiply on row-major data (placeholder: to be replaced by the packed kernel).</summary>
public static class Gemm
{
    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is [m,k], op(B) is [k,n], C is [m,n].
    /// With transA, A is stored [k,m] (lda ≥ m); otherwise [m,k] (lda ≥ k). Likewise B.
    /// beta = 0 overwrites C without reading it (NaNs in C do not survive).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j];
            }
    }
}
