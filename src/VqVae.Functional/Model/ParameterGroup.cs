namespace VqVae.Functional.Model;

/// <summary>The parts of a VQ-VAE that routing checks and optimizers tell apart.</summary>
public enum ParameterGroup
{
    /// <summary>Trainable encoder tensors (<c>encoder.*</c>).</summary>
    Encoder,
    /// <summary>The codebook (<c>vq.embedding.weight</c>).</summary>
    Codebook,
    /// <summary>Trainable decoder tensors (<c>decoder.*</c>).</summary>
    Decoder,
    /// <summary>State that is not trained by gradient: EMA statistics (<c>vq.cluster_size</c>, <c>vq.ema_w</c>)
    /// and BatchNorm running statistics.</summary>
    Buffer,
}
