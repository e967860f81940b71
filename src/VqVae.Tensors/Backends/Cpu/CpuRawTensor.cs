using System.Numerics.Tensors;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// The CPU backend: a float[] in row-major order. The array is never written after construction
/// (reshape shares it), so immutability holds without copies.
/// </summary>
internal sealed partial class CpuRawTensor : RawTensor
{
    private readonly float[] data;
    private readonly int[] shape;
    /// <summary>The arena whose pool this storage came from (null: ordinary storage).</summary>
    internal readonly TensorArena? Owner;

    /// <summary>Wraps <paramref name="data"/> (ownership passes to the tensor).</summary>
    public CpuRawTensor(float[] data, int[] shape) : this(data, shape, null) { }

    internal CpuRawTensor(float[] data, int[] shape, TensorArena? owner)
    {
        if (data.Length != ShapeUtil.Size(shape))
            throw new ArgumentException($"data has {data.Length} values but shape {ShapeUtil.Format(shape)} needs {ShapeUtil.Size(shape)}.", nameof(data));
        this.data = data;
        this.shape = shape;
        Owner = owner;
    }

    /// <summary>The values; throws if the storage was recycled at the end of its arena.</summary>
    internal float[] Data
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get
        {
            if (Owner is { IsDisposed: true }) ThrowRecycled();
            return data;
        }
    }

    private static void ThrowRecycled() => throw new ObjectDisposedException(nameof(TensorArena),
        "tensor: its storage was recycled when its TensorArena scope ended; use TensorArena.Keep on results that must outlive the scope.");

    /// <inheritdoc/>
    public override Backend Backend => CpuBackend.Instance;

    /// <inheritdoc/>
    public override bool IsScoped => Owner is not null;

    /// <inheritdoc/>
    public override RawTensor Unscoped() => Owner is null ? this : new CpuRawTensor((float[])Data.Clone(), shape, null);

    /// <inheritdoc/>
    public override double SumOfSquares()
    {
        double s = 0;
        foreach (var v in Data) s += (double)v * v; // same order as over a copy, without the copy
        return s;
    }

    /// <summary>Result storage: pooled inside an arena (zeroed only when asked), else a fresh array.</summary>
    private static float[] Alloc(int length, bool zero, out TensorArena? owner) => TensorArena.Alloc(length, zero, out owner);

    /// <inheritdoc/>
    public override int[] Shape => shape;
    /// <inheritdoc/>
    public override int Length => Data.Length;
    /// <inheritdoc/>
    public override float[] ToArray() => (float[])Data.Clone();
    /// <inheritdoc/>
    public override float At(int flatIndex) => Data[flatIndex];
    /// <summary>Read-only view of the values.</summary>
    public ReadOnlySpan<float> Span => Data;

    private float[] Cpu(RawTensor t, [System.Runtime.CompilerServices.CallerMemberName] string op = "")
    {
        if (t is CpuRawTensor c) return c.Data;
        Backend.CheckSame(op, this, t);   // throws: t is on another backend
        return ((CpuRawTensor)t).Data;    // not reached: every tensor of the cpu backend is a CpuRawTensor
    }

    private static CpuRawTensor Make(float[] d, int[] s, TensorArena? owner) => new(d, s, owner);

    /// <inheritdoc/>
    public override RawTensor Unary(UnaryOp op)
    {
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(x.Length, false, out var owner);
        // Stryker disable once Equality,Arithmetic : equivalent in values, only the size from which the exact ops go over threads
        bool large = x.Length >= 2 * Chunk;
        if (large && ExactPerElement(op))
        {
            ForChunks(x.Length, (s, n) =>
            {
                ReadOnlySpan<float> xs = x.AsSpan(s, n); var rs = r.AsSpan(s, n);
                switch (op)
                {
                    case UnaryOp.Neg: TensorPrimitives.Negate(xs, rs); break;
                    case UnaryOp.Abs: TensorPrimitives.Abs(xs, rs); break;
                    case UnaryOp.Relu: TensorPrimitives.Max(xs, 0f, rs); break;
                    case UnaryOp.Sqrt: TensorPrimitives.Sqrt(xs, rs); break;
                    default: TensorPrimitives.Multiply(xs, xs, rs); break;
                }
            });
            return Make(r, shape, owner);
        }
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, r); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, r); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, r); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, r); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, r); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, r); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, r); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, r); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, r); break;
            case UnaryOp.Sign: for (int i = 0; i < x.Length; i++) r[i] = float.IsNaN(x[i]) ? float.NaN : MathF.Sign(x[i]); break;
            case UnaryOp.Step: for (int i = 0; i < x.Length; i++) r[i] = x[i] > 0f ? 1f : 0f; break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
        return Make(r, shape, owner);
    }

    /// <summary>The unary ops correctly rounded per element: a split over threads cannot change a bit of theirs.</summary>
    // Stryker disable once Logical : equivalent in values, an op dropped from the list only stays serial
    private static bool ExactPerElement(UnaryOp op) => op is UnaryOp.Neg or UnaryOp.Abs or UnaryOp.Relu or UnaryOp.Sqrt or UnaryOp.Square;

    /// <inheritdoc/>
    public override RawTensor Clamp(float lo, float hi)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(Data.Length, false, out var owner);
        TensorPrimitives.Max(Data, lo, r);
        TensorPrimitives.Min(r, hi, r);
        return Make(r, shape, owner);
    }

    /// <inheritdoc/>
    public override RawTensor InRange(float lo, float hi)
    {
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(x.Length, false, out var owner);
        for (int i = 0; i < r.Length; i++) r[i] = x[i] >= lo && x[i] <= hi ? 1f : 0f;
        return Make(r, shape, owner);
    }

    /// <inheritdoc/>
    public override RawTensor BinaryScalar(BinaryOp op, float s, bool scalarOnLeft)
    {
        var x = Data;
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(x.Length, false, out var owner);
        // Stryker disable once Equality,Arithmetic : equivalent in values, only the size from which + − × ÷ (correctly rounded per element) go over threads
        bool large = x.Length >= 2 * Chunk;
        if (large && op != BinaryOp.Pow)
        {
            ForChunks(x.Length, (st, n) => ScalarOp(op, s, x.AsSpan(st, n), r.AsSpan(st, n), scalarOnLeft));
            return Make(r, shape, owner);
        }
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(x, s, r); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, s, r); break;
            case BinaryOp.Sub:
                if (scalarOnLeft) TensorPrimitives.Subtract(s, x, r); else TensorPrimitives.Subtract(x, s, r);
                break;
            case BinaryOp.Div:
                if (scalarOnLeft) TensorPrimitives.Divide(s, x, r); else TensorPrimitives.Divide(x, s, r);
                break;
            case BinaryOp.Pow:
                if (scalarOnLeft) TensorPrimitives.Pow(s, x, r);
                else if (s == 2f) TensorPrimitives.Multiply(x, x, r);
                else TensorPrimitives.Pow(x, s, r);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
        return Make(r, shape, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Binary(BinaryOp op, RawTensor other)
    {
        var a = Data; var b = Cpu(other);
        var os = ShapeUtil.Broadcast(op.ToString(), shape, other.Shape);
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(ShapeUtil.Size(os), false, out var owner);
        if (ShapeUtil.SameShape(shape, other.Shape))
        {
            // + − × ÷ are correctly rounded per element: a split over threads cannot change a bit.
            // Stryker disable once Equality,Arithmetic : equivalent in values, as above (the size only)
            bool large = r.Length >= 2 * Chunk;
            if (large && op != BinaryOp.Pow) ForChunks(r.Length, (s, n) => SpanOp(op, a.AsSpan(s, n), b.AsSpan(s, n), r.AsSpan(s, n)));
            else SpanOp(op, a, b, r);
            return Make(r, os, owner);
        }
        if (a.Length == 1 && ShapeUtil.SameShape(os, other.Shape)) { ScalarOp(op, a[0], b, r, true); return Make(r, os, owner); }
        if (b.Length == 1 && ShapeUtil.SameShape(os, shape)) { ScalarOp(op, b[0], a, r, false); return Make(r, os, owner); }
        BroadcastOp(op, a, shape, b, other.Shape, r, os);
        return Make(r, os, owner);
    }

    private static void SpanOp(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> r)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, r); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, r); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, r); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, r); break;
            case BinaryOp.Pow: TensorPrimitives.Pow(a, b, r); break;
        }
    }

    private static void ScalarOp(BinaryOp op, float s, ReadOnlySpan<float> x, Span<float> r, bool scalarOnLeft)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(x, s, r); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, s, r); break;
            case BinaryOp.Sub: if (scalarOnLeft) TensorPrimitives.Subtract(s, x, r); else TensorPrimitives.Subtract(x, s, r); break;
            case BinaryOp.Div: if (scalarOnLeft) TensorPrimitives.Divide(s, x, r); else TensorPrimitives.Divide(x, s, r); break;
            case BinaryOp.Pow: if (scalarOnLeft) TensorPrimitives.Pow(s, x, r); else TensorPrimitives.Pow(x, s, r); break;
        }
    }

    // General broadcasting: walk the output's outer index, and run the innermost dimension as one
    // span op (both operands contiguous, or one of them a repeated scalar).
    private static void BroadcastOp(BinaryOp op, float[] a, int[] sa, float[] b, int[] sb, float[] r, int[] os)
    {
        // rank ≥ 1: two rank-0 operands have the same shape, and a single value against any shape is a scalar op,
        // both handled before (Binary; Expand fills).
        int rank = os.Length;
        var stA = BroadcastStrides(sa, os); var stB = BroadcastStrides(sb, os);
        int inner = os[rank - 1];
        int ia = stA[rank - 1], ib = stB[rank - 1];
        int outer = r.Length / Math.Max(inner, 1);
        // Stryker disable once Arithmetic : equivalent, a longer index array whose extra places the walk never visits
        var idx = new int[rank - 1];
        int offA = 0, offB = 0;
        Span<float> one = stackalloc float[1];
        for (int o = 0; o < outer; o++)
        {
            var dst = r.AsSpan(o * inner, inner);
            if (ia == 1 && ib == 1) SpanOp(op, a.AsSpan(offA, inner), b.AsSpan(offB, inner), dst);
            else if (ia == 1) ScalarOp(op, b[offB], a.AsSpan(offA, inner), dst, false);
            else if (ib == 1) ScalarOp(op, a[offA], b.AsSpan(offB, inner), dst, true);
            else { SpanOp(op, a.AsSpan(offA, 1), b.AsSpan(offB, 1), one); dst.Fill(one[0]); }
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; offA += stA[d]; offB += stB[d];
                if (idx[d] < os[d]) break;
                offA -= stA[d] * os[d]; offB -= stB[d] * os[d]; idx[d] = 0;
            }
        }
    }

    // Strides of a shape broadcast into a larger one: 0 where the dimension is repeated.
    private static int[] BroadcastStrides(int[] s, int[] os)
    {
        var st = ShapeUtil.Strides(s);
        var r = new int[os.Length];
        int off = os.Length - s.Length;
        for (int i = 0; i < s.Length; i++) r[i + off] = s[i] == 1 && os[i + off] != 1 ? 0 : st[i];
        return r;
    }

    /// <inheritdoc/>
    public override RawTensor Expand(int[] os)
    {
        // Stryker disable once Boolean : equivalent, zeroing storage whose every element the op writes
        var r = Alloc(ShapeUtil.Size(os), false, out var owner);
        if (Data.Length == 1) { r.AsSpan().Fill(Data[0]); return Make(r, os, owner); }
        var zeros = new float[1];
        BroadcastOp(BinaryOp.Add, Data, shape, zeros, [], r, os);
        return Make(r, os, owner);
    }

    /// <inheritdoc/>
    public override RawTensor Reshape(int[] s) => Make(Data, s, Owner);

    /// <inheritdoc/>
    public override bool HasNonFinite()
    {
        foreach (var v in Data) if (!float.IsFinite(v)) return true;
        return false;
    }
}
