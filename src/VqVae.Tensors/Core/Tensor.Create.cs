using VqVae.Tensors.Backend;

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

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        ShapeUtil.CheckShape("full", nameof(shape), shape);
        var d = new float[ShapeUtil.Size(shape)];
        Array.Fill(d, value);
        return new Tensor(RawTensor.Create(d, (int[])shape.Clone()));
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

    /// <summary>Wraps a raw tensor (untracked).</summary>
    public static Tensor OfRaw(RawTensor raw) => new(raw);
}
