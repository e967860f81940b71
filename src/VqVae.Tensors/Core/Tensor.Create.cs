using VqVae.Tensors.Backends;

namespace VqVae.Tensors;

public sealed partial class Tensor
{
    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape.</summary>
    /// <example><code>var t = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);</code></example>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ShapeUtil.CheckShape("fromArray", nameof(shape), shape);
        if (data.Length != ShapeUtil.Size(shape))
            throw new ArgumentException($"fromArray: data has {data.Length} values but shape {ShapeUtil.Format(shape)} needs {ShapeUtil.Size(shape)}.", nameof(data));
        return new Tensor(RawTensor.Create((float[])data.Clone(), (int[])shape.Clone()));
    }

    /// <summary>A tensor on <paramref name="backend"/> holding a copy of <paramref name="data"/> with the given shape.</summary>
    public static Tensor FromArray(Backend backend, float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(backend); ArgumentNullException.ThrowIfNull(data);
        ShapeUtil.CheckShape("fromArray", nameof(shape), shape);
        if (data.Length != ShapeUtil.Size(shape))
            throw new ArgumentException($"fromArray: data has {data.Length} values but shape {ShapeUtil.Format(shape)} needs {ShapeUtil.Size(shape)}.", nameof(data));
        return new Tensor(backend.Create((float[])data.Clone(), (int[])shape.Clone()));
    }

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(float value, params int[] shape) => Full(Backend.Default, value, shape);

    /// <summary>A tensor on <paramref name="backend"/> filled with one value.</summary>
    public static Tensor Full(Backend backend, float value, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ShapeUtil.CheckShape("full", nameof(shape), shape);
        var d = new float[ShapeUtil.Size(shape)];
        Array.Fill(d, value);
        return new Tensor(backend.Create(d, (int[])shape.Clone()));
    }

    /// <summary>Zeros shaped like <paramref name="like"/>, on its backend (untracked).</summary>
    public static Tensor ZerosLike(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        return Full(like.Backend, 0f, like.Raw.Shape);
    }

    /// <summary>Ones shaped like <paramref name="like"/>, on its backend (untracked).</summary>
    public static Tensor OnesLike(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        return Full(like.Backend, 1f, like.Raw.Shape);
    }

    /// <summary>Zeros of the given shape.</summary>
    public static Tensor Zeros(params int[] shape) => Full(0f, shape);
    /// <summary>Ones of the given shape.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);
    /// <summary>A scalar (shape []).</summary>
    public static Tensor Scalar(float value) => Full(value);

    /// <summary>Values uniform in [lo, hi), drawn from <paramref name="rng"/>.</summary>
    public static Tensor Uniform(Rng rng, float lo, float hi, params int[] shape)
    {
        ShapeUtil.CheckShape("uniform", nameof(shape), shape);
        return new Tensor(RawTensor.Create(rng.Uniform(ShapeUtil.Size(shape), lo, hi), (int[])shape.Clone()));
    }

    /// <summary>Values from N(mean, std²), drawn from <paramref name="rng"/>.</summary>
    public static Tensor Normal(Rng rng, float mean, float std, params int[] shape)
    {
        ShapeUtil.CheckShape("normal", nameof(shape), shape);
        return new Tensor(RawTensor.Create(rng.Normal(ShapeUtil.Size(shape), mean, std), (int[])shape.Clone()));
    }

    /// <summary>
    /// One Adam step for one parameter leaf, fused into a single pass (PyTorch semantics):
    /// g' = g + wd·p (when wd ≠ 0); m' = β₁·m + (1−β₁)·g'; v' = β₂·v + (1−β₂)·g'²;
    /// p' = p − m' / (√v' / √(1−β₂ᵗ) + ε) · (lr / (1−β₁ᵗ)), t = <paramref name="step"/> (1 for the first update).
    /// Bitwise equal to the same formula written with tensor ops. Untracked; the results are ordinary
    /// storage even inside a <see cref="TensorArena"/> (they outlive the step).
    /// </summary>
    public static (Tensor Param, Tensor M, Tensor V) AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, int step,
        float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
    {
        ArgumentNullException.ThrowIfNull(param); ArgumentNullException.ThrowIfNull(grad);
        ArgumentNullException.ThrowIfNull(m); ArgumentNullException.ThrowIfNull(v);
        foreach (var (t, name) in new[] { (grad, nameof(grad)), (m, nameof(m)), (v, nameof(v)) })
            if (!ShapeUtil.SameShape(t.Raw.Shape, param.Raw.Shape))
                throw new ArgumentException($"adamUpdate: {name} has shape {ShapeUtil.Format(t.Raw.Shape)}, the parameter {ShapeUtil.Format(param.Raw.Shape)}.", name);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "adamUpdate: step must be ≥ 1.");
        using var _ = Diagnostics.OpProfiler.Time("adamUpdate");
        float bc1 = (float)(1 - Math.Pow(beta1, step));
        float sqrtBc2 = (float)Math.Sqrt(1 - Math.Pow(beta2, step));
        var (p2, m2, v2) = param.Raw.AdamUpdate(grad.Raw, m.Raw, v.Raw, learningRate, beta1, beta2, epsilon, weightDecay, bc1, sqrtBc2);
        return (new Tensor(p2), new Tensor(m2), new Tensor(v2));
    }

    /// <summary>Wraps a raw tensor (untracked).</summary>
    public static Tensor OfRaw(RawTensor raw) => new(raw);
}
