using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Layers;

/// <summary>
/// Batch normalisation over (N, H, W) per channel, PyTorch's <c>nn.BatchNorm2d</c>. The running
/// statistics are part of the record (buffers <c>running_mean</c>, <c>running_var</c>,
/// <c>num_batches_tracked</c>); <see cref="ApplyTraining"/> returns the layer with new statistics instead of
/// mutating, and <see cref="Apply"/> (evaluation) uses them. Buffers never receive gradients.
/// </summary>
/// <example><code>
/// var (y, bn2) = bn.ApplyTraining(x);     // bn2 holds the updated running mean and variance
/// var yEval = bn2.Apply(x);       // evaluation mode
/// </code></example>
public sealed record BatchNorm2d(Tensor Weight, Tensor Bias, Tensor RunningMean, Tensor RunningVar, Tensor NumBatchesTracked,
    float Momentum = 0.1f, float Eps = 1e-5f) : ILayer
{
    /// <summary>Weight 1, bias 0, running mean 0, running variance 1 (PyTorch's defaults).</summary>
    public static BatchNorm2d Init(int channels, float momentum = 0.1f, float eps = 1e-5f)
    {
        LayerChecks.Positive("batchNorm2d", nameof(channels), channels);
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"batchNorm2d: momentum must be in [0, 1], got {momentum}.");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"batchNorm2d: eps must be > 0, got {eps}.");
        return new(Tensor.Ones(channels), Tensor.Zeros(channels), Tensor.Zeros(channels), Tensor.Ones(channels), Tensor.Scalar(0f), momentum, eps);
    }

    /// <summary>Number of channels.</summary>
    public int Channels => Weight.Shape[0];

    /// <summary>Evaluation mode: normalise with the running statistics.</summary>
    public Tensor Apply(Tensor x)
    {
        CheckInput(x);
        return Normalise(x, RunningMean.NoDiff().Reshape(1, -1, 1, 1), RunningVar.NoDiff().Reshape(1, -1, 1, 1));
    }

    /// <summary>Training mode: normalise with the batch statistics (biased variance) and return the layer whose
    /// running statistics moved by <see cref="Momentum"/> towards the batch's (unbiased variance, as PyTorch).</summary>
    public (Tensor Output, ILayer Layer) ApplyTraining(Tensor x)
    {
        CheckInput(x);
        var s = x.Shape;
        long n = (long)s[0] * s[2] * s[3];
        if (n < 2) throw new ArgumentException($"batchNorm2d: training needs more than one value per channel, got input shape [{string.Join(",", s)}].", nameof(x));
        var mean = x.Mean([0, 2, 3], true);
        var variance = x.Variance([0, 2, 3], true);
        var y = Normalise(x, mean, variance);
        float m = Momentum;
        var bm = mean.NoDiff().Reshape(-1);
        var bv = variance.NoDiff().Reshape(-1) * (float)((double)n / (n - 1));
        var next = this with
        {
            RunningMean = (RunningMean.NoDiff() * (1 - m) + bm * m).NoDiff(),
            RunningVar = (RunningVar.NoDiff() * (1 - m) + bv * m).NoDiff(),
            NumBatchesTracked = (NumBatchesTracked.NoDiff() + 1f).NoDiff(),
        };
        return (y, next);
    }

    private Tensor Normalise(Tensor x, Tensor mean, Tensor variance) =>
        (x - mean) / Tensor.Sqrt(variance + Eps) * Weight.Reshape(1, -1, 1, 1) + Bias.Reshape(1, -1, 1, 1);

    private void CheckInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var s = x.Shape;
        if (s.Length != 4 || s[1] != Channels)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"batchNorm2d: x must be [B, {Channels}, H, W], got [{string.Join(",", s)}]."), nameof(x));
    }

    /// <inheritdoc/>
    public void Flatten(TreeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Leaf("weight", Weight); writer.Leaf("bias", Bias);
        writer.Leaf("running_mean", RunningMean); writer.Leaf("running_var", RunningVar);
        writer.Leaf("num_batches_tracked", NumBatchesTracked);
    }

    /// <inheritdoc/>
    public ILayer Unflatten(TreeReader reader) => this with
    {
        Weight = reader.Leaf(), Bias = reader.Leaf(), RunningMean = reader.Leaf(), RunningVar = reader.Leaf(), NumBatchesTracked = reader.Leaf(),
    };

    /// <inheritdoc/>
    public IEnumerable<string> BufferNames => ["running_mean", "running_var", "num_batches_tracked"];
}
