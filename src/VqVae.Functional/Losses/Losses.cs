using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Losses;

/// <summary>
/// The loss terms of DESIGN §4 as separate pure functions, each a mean over all elements. The
/// stop-gradients decide the routing: the codebook term trains only the codebook, the commitment
/// term only the encoder.
/// </summary>
public static class Loss
{
    private const float MinNormal = 1.17549435e-38f;

    /// <summary>The reconstruction term between x̂ and x (same shape).</summary>
    public static Tensor Reconstruction(ReconstructionLoss kind, Tensor xHat, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(xHat); ArgumentNullException.ThrowIfNull(x);
        if (!xHat.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"reconstruction: x̂ {ShapeUtil.Format(xHat.Shape)} and x {ShapeUtil.Format(x.Shape)} must have the same shape.", nameof(xHat));
        return kind switch
        {
            ReconstructionLoss.Mse => Mse(xHat, x),
            ReconstructionLoss.Bce => Bce(xHat, x),
            ReconstructionLoss.MseOverVariance => MseOverVariance(xHat, x),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "reconstruction: unknown kind."),
        };
    }

    /// <summary>mean((x̂ − x)²).</summary>
    public static Tensor Mse(Tensor xHat, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(xHat); ArgumentNullException.ThrowIfNull(x);
        return (xHat - x).Square().Mean();
    }

    /// <summary>−mean(x·ln x̂ + (1 − x)·ln(1 − x̂)), each log clamped at −100 like PyTorch.</summary>
    public static Tensor Bce(Tensor xHat, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(xHat); ArgumentNullException.ThrowIfNull(x);
        foreach (var v in xHat.NoDiff().ToArray())
            if (!(v >= 0f && v <= 1f))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"reconstruction: BCE needs x̂ in [0, 1] (a Sigmoid output), found {v}."), nameof(xHat));
        return -(x * ClampedLog(xHat) + (1f - x) * ClampedLog(1f - xHat)).Mean();
    }

    // max(ln p, −100): the same values as PyTorch's binary_cross_entropy. Below the smallest
    // normal float the value is held constant (gradient 0), so Log's backward never divides by 0.
    // Gradients are those of this clamped-log formula; PyTorch's hand-written backward differs
    // only where x̂(1−x̂) < 1e-12 (tests/fixtures/README.md, parity_bce).
    private static Tensor ClampedLog(Tensor p)
    {
        var raw = p.NoDiff().ToArray();
        var keep = new float[raw.Length];
        var rest = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] >= MinNormal) keep[i] = 1f;
            else rest[i] = MathF.Max(MathF.Log(raw[i]), -100f);
        }
        var shape = p.Shape;
        return p.Clamp(MinNormal, float.MaxValue).Log() * Tensor.FromArray(p.Backend, keep, shape) + Tensor.FromArray(p.Backend, rest, shape);
    }

    /// <summary>mean((x̂ − x)²) / var(x), the population variance of the batch x (no gradient through it).</summary>
    public static Tensor MseOverVariance(Tensor xHat, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(xHat); ArgumentNullException.ThrowIfNull(x);
        var v = x.NoDiff().Variance([.. Enumerable.Range(0, x.Rank)]).ToScalar();
        if (!(v > 0) || !float.IsFinite(v))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"reconstruction: MseOverVariance needs a batch with positive, finite variance, got var(x) = {v}."), nameof(x));
        return Mse(xHat, x) / v;
    }

    /// <summary>Codebook term mean((z_q − NoDiff(z_e))²): pulls codes towards the encoder outputs.</summary>
    public static Tensor Codebook(Tensor zq, Tensor ze)
    {
        ArgumentNullException.ThrowIfNull(zq); ArgumentNullException.ThrowIfNull(ze);
        return (zq - ze.NoDiff()).Square().Mean();
    }

    /// <summary>Commitment term mean((z_e − NoDiff(z_q))²): keeps the encoder near its codes.</summary>
    public static Tensor Commitment(Tensor ze, Tensor zq)
    {
        ArgumentNullException.ThrowIfNull(ze); ArgumentNullException.ThrowIfNull(zq);
        return (ze - zq.NoDiff()).Square().Mean();
    }

    /// <summary>recon + codebook + β·commitment; for the EMA quantizer recon + β·commitment (its codebook learns by EMA).</summary>
    public static Tensor Total(QuantizerKind quantizer, float beta, Tensor recon, Tensor codebook, Tensor commitment)
    {
        ArgumentNullException.ThrowIfNull(recon); ArgumentNullException.ThrowIfNull(codebook); ArgumentNullException.ThrowIfNull(commitment);
        return quantizer == QuantizerKind.Ema ? recon + commitment * beta : recon + codebook + commitment * beta;
    }
}
