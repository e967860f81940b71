namespace VqVae.Tensors.Backend.Cpu;

/// <summary>Nearest codebook entry per row (placeholder).</summary>
public static class NearestCode
{
    /// <summary>indices[i] = argmin_j ‖z_i − e_j‖².</summary>
    public static void Argmin(ReadOnlySpan<float> z, int n, int d, ReadOnlySpan<float> codebook, int k, Span<int> indices)
    {
        throw new NotImplementedException();
    }
}
