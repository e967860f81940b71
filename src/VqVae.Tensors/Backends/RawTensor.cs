namespace VqVae.Tensors.Backends;

#pragma warning disable CS1591 // enum members are named for what they compute
/// <summary>Elementwise binary operations of the raw layer.</summary>
public enum BinaryOp { Add, Sub, Mul, Div, Pow }

/// <summary>Elementwise unary operations of the raw layer.</summary>
public enum UnaryOp { Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Sign, Step, Square }
#pragma warning restore CS1591

/// <summary>
/// The backend seam (after DiffSharp's RawTensor): immutable float32 storage plus raw kernels,
/// no autodiff. The AD layer (<see cref="VqVae.Tensors.Tensor"/>) only talks to this class, so the
/// managed CPU kernels and libtorch sit under the same AD and model code. Arguments arrive already
/// validated by the AD layer (and on one backend: an implementation reading another raw tensor
/// calls <see cref="Backend.CheckSame(string, RawTensor, RawTensor)"/> first); raw tensors never change after construction.
/// </summary>
public abstract class RawTensor
{
    /// <summary>The backend this tensor lives on (whose kernels run its ops).</summary>
    public abstract Backend Backend { get; }

    /// <summary>The dimensions (do not mutate).</summary>
    public abstract int[] Shape { get; }
    /// <summary>Number of elements.</summary>
    public abstract int Length { get; }
    /// <summary>A copy of the values, row-major.</summary>
    public abstract float[] ToArray();
    /// <summary>Element at a flat row-major index.</summary>
    public abstract float At(int flatIndex);

    /// <summary>A raw tensor on the default backend holding <paramref name="data"/> (not copied: the caller hands it over).</summary>
    public static RawTensor Create(float[] data, int[] shape) => Backend.Default.Create(data, shape);

    /// <summary>
    /// True when this tensor's storage belongs to a <see cref="TensorArena"/> scope (recycled or freed
    /// when the scope ends). Backends without scoped storage answer false.
    /// </summary>
    public virtual bool IsScoped => false;

    /// <summary>This tensor if its storage outlives every arena scope, else a copy on ordinary storage (values identical).</summary>
    public virtual RawTensor Unscoped() => this;

    /// <summary>Σ x² over the values in row-major order, accumulated in double (gradient norms).</summary>
    public virtual double SumOfSquares()
    {
        double s = 0;
        foreach (var v in ToArray()) s += (double)v * v;
        return s;
    }

    /// <summary>Broadcasting binary op; the caller has checked the shapes broadcast.</summary>
    public abstract RawTensor Binary(BinaryOp op, RawTensor other);
    /// <summary>Binary op with a scalar on the left or right.</summary>
    public abstract RawTensor BinaryScalar(BinaryOp op, float scalar, bool scalarOnLeft);
    /// <summary>Elementwise unary op.</summary>
    public abstract RawTensor Unary(UnaryOp op);
    /// <summary>Values clamped to [lo, hi].</summary>
    public abstract RawTensor Clamp(float lo, float hi);
    /// <summary>1 where lo ≤ x ≤ hi, else 0 (the clamp's derivative mask).</summary>
    public abstract RawTensor InRange(float lo, float hi);
    /// <summary>Sum over the given (sorted, distinct) dimensions.</summary>
    public abstract RawTensor Sum(int[] dims, bool keepDim);
    /// <summary>Broadcast to a larger shape (materialised).</summary>
    public abstract RawTensor Expand(int[] shape);
    /// <summary>Same values, another shape of equal size (shares storage: both are immutable).</summary>
    public abstract RawTensor Reshape(int[] shape);
    /// <summary>Dimensions reordered: output dim i is input dim perm[i].</summary>
    public abstract RawTensor Permute(int[] perm);
    /// <summary>op(this)[m,k] · op(b)[k,n] for 2-D tensors.</summary>
    public abstract RawTensor MatMul(RawTensor b, bool transA, bool transB);
    /// <summary>2-D convolution forward with optional bias.</summary>
    public abstract RawTensor Conv2d(RawTensor weight, RawTensor? bias, ConvGeometry g);
    /// <summary>This is dy [N,Cout,Ho,Wo]; returns dx [N,Cin,H,W].</summary>
    public abstract RawTensor Conv2dBackwardInput(RawTensor weight, ConvGeometry g);
    /// <summary>This is x [N,Cin,H,W]; returns dw [Cout,Cin,Kh,Kw].</summary>
    public abstract RawTensor Conv2dBackwardWeight(RawTensor dy, ConvGeometry g);
    /// <summary>Rows of this [K,D] table at the given indices: [M,D].</summary>
    public abstract RawTensor GatherRows(int[] indices);
    /// <summary>This is [M,D]; adds row i into row indices[i] of a zero [rows,D] table.</summary>
    public abstract RawTensor ScatterAddRows(int[] indices, int rows);
    /// <summary>Index of the smallest value in each row of this [N,K] (ties → lowest index).</summary>
    public abstract int[] ArgMinRows();
    /// <summary>For each row of this [N,D], the index of the nearest row of codebook [K,D] in squared L2 (ties → lowest).</summary>
    public abstract int[] NearestRows(RawTensor codebook);
    /// <summary>A [N,k] one-hot matrix of the indices.</summary>
    public abstract RawTensor OneHot(int[] indices, int k);
    /// <summary>Rows [start, start+count) along dimension 0.</summary>
    public abstract RawTensor Narrow0(int start, int count);
    /// <summary>Concatenation along dimension 0 (shapes agree beyond dimension 0).</summary>
    public abstract RawTensor Cat0(IReadOnlyList<RawTensor> parts);
    /// <summary>True if any value is NaN or infinite.</summary>
    public abstract bool HasNonFinite();

    // Any-dimension slicing and joining, and the max a stable log-softmax subtracts. Each has a
    // default made of the primitives above (permute the dimension to the front, or reshape rows),
    // so a backend works before it overrides them with one strided pass.

    /// <summary>Elements [start, start+length) along <paramref name="dim"/> (torch.narrow); the caller has checked the range.</summary>
    public virtual RawTensor Narrow(int dim, int start, int length) => NarrowByPermute(this, dim, start, length);

    internal static RawTensor NarrowByPermute(RawTensor self, int dim, int start, int length)
    {
        if (dim == 0) return self.Narrow0(start, length);
        var perm = SwapFront(self.Shape.Length, dim);
        return self.Permute(perm).Narrow0(start, length).Permute(perm);
    }

    /// <summary>Concatenation of <paramref name="parts"/> along <paramref name="dim"/> (shapes agree elsewhere; the caller has checked).</summary>
    public virtual RawTensor Cat(int dim, IReadOnlyList<RawTensor> parts) => CatByPermute(this, dim, parts);

    internal static RawTensor CatByPermute(RawTensor self, int dim, IReadOnlyList<RawTensor> parts)
    {
        if (dim == 0) return self.Cat0(parts);
        var perm = SwapFront(self.Shape.Length, dim);
        var moved = parts.Select(p => p.Permute(perm)).ToArray();
        return moved[0].Cat0(moved).Permute(perm);
    }

    /// <summary>Largest value along <paramref name="dim"/> (not differentiable; NaN-free input assumed).</summary>
    public virtual RawTensor Max(int dim, bool keepDim) => MaxByArgMin(this, dim, keepDim);

    internal static RawTensor MaxByArgMin(RawTensor self, int dim, bool keepDim)
    {
        // Rows of the dimension moved last, the arg-min of the negation, then a gather of those elements.
        var shape = self.Shape;
        int rank = shape.Length;
        var perm = Enumerable.Range(0, rank).Where(d => d != dim).Append(dim).ToArray();
        int k = shape[dim], n = self.Length / Math.Max(k, 1);
        var rows = self.Permute(perm).Reshape([n, k]);
        var arg = rows.Unary(UnaryOp.Neg).ArgMinRows();
        var flat = new int[n];
        for (int i = 0; i < n; i++) flat[i] = i * k + arg[i];
        var picked = rows.Reshape([n * k, 1]).GatherRows(flat);
        var os = (int[])shape.Clone(); os[dim] = 1;
        return picked.Reshape(keepDim ? os : shape.Where((_, d) => d != dim).ToArray());
    }

    private static int[] SwapFront(int rank, int dim)
    {
        var p = Enumerable.Range(0, rank).ToArray();
        (p[0], p[dim]) = (p[dim], p[0]);
        return p;
    }

    // Fused kernels: each has a default made of the primitives above (same values, bit for bit),
    // which a backend overrides with one pass over memory.

    /// <summary>
    /// Convolution forward for a taped op: the result, and where the backend keeps its own record of
    /// the op (libtorch autograd) the way to its input and weight gradients; null where it has none
    /// (then <see cref="Conv2dBackwardInput"/> and <see cref="Conv2dBackwardWeight"/> are used).
    /// </summary>
    public virtual (RawTensor Result, ConvBackward? Backward) Conv2dTaped(RawTensor weight, RawTensor? bias, ConvGeometry g, bool inputGrad, bool weightGrad) =>
        (Conv2d(weight, bias, g), null);

    /// <summary>Transposed convolution forward for a taped op; see <see cref="Conv2dTaped"/>.</summary>
    public virtual (RawTensor Result, ConvBackward? Backward) ConvTranspose2dTaped(RawTensor weight, RawTensor? bias, ConvGeometry g, bool inputGrad, bool weightGrad) =>
        (ConvTranspose2d(weight, bias, g), null);

    /// <summary>This is dy; returns dy · [x &gt; 0] (ReLU's backward), bitwise equal to dy · step(x).</summary>
    public virtual RawTensor ReluBackward(RawTensor x) => Binary(BinaryOp.Mul, x.Unary(UnaryOp.Step));

    /// <summary>This is dy; returns (dy · y) · (1 − y) for y = sigmoid(x) (sigmoid's backward).</summary>
    public virtual RawTensor SigmoidBackward(RawTensor y) => Binary(BinaryOp.Mul, y).Binary(BinaryOp.Mul, y.BinaryScalar(BinaryOp.Sub, 1f, true));

    /// <summary>Transposed convolution forward: this is x [N,Cin',H',W'] of the adjoint geometry g; adds bias [g.Cin] per channel.</summary>
    public virtual RawTensor ConvTranspose2d(RawTensor weight, RawTensor? bias, ConvGeometry g)
    {
        var y = Conv2dBackwardInput(weight, g);
        return bias is null ? y : y.Binary(BinaryOp.Add, bias.Reshape([1, g.Cin, 1, 1]));
    }

    /// <summary>
    /// One Adam step (PyTorch semantics) on this parameter: g' = g + wd·p (when wd ≠ 0),
    /// m' = β₁m + (1−β₁)g', v' = β₂v + (1−β₂)g'², p' = p − (m' / (√v'/√bc₂ + ε)) · (lr/bc₁).
    /// Results are never arena storage (they outlive a training step).
    /// </summary>
    public virtual (RawTensor P, RawTensor M, RawTensor V) AdamUpdate(RawTensor g, RawTensor m, RawTensor v,
        float lr, float beta1, float beta2, float epsilon, float weightDecay, float bc1, float sqrtBc2)
    {
        // Stryker disable once Boolean : the scalar's side of a product or sum does not change its value (IEEE + and * commute)
        if (weightDecay != 0f) g = g.Binary(BinaryOp.Add, BinaryScalar(BinaryOp.Mul, weightDecay, false));
        // Stryker disable once Boolean : the scalar's side of a product or sum does not change its value (IEEE + and * commute)
        var m2 = m.BinaryScalar(BinaryOp.Mul, beta1, false).Binary(BinaryOp.Add, g.BinaryScalar(BinaryOp.Mul, 1f - beta1, false));
        // Stryker disable once Boolean : the scalar's side of a product or sum does not change its value (IEEE + and * commute)
        var v2 = v.BinaryScalar(BinaryOp.Mul, beta2, false).Binary(BinaryOp.Add, g.Unary(UnaryOp.Square).BinaryScalar(BinaryOp.Mul, 1f - beta2, false));
        var scaledRoot = v2.Unary(UnaryOp.Sqrt).BinaryScalar(BinaryOp.Div, sqrtBc2, false);
        // Stryker disable once Boolean : the scalar's side of a product or sum does not change its value (IEEE + and * commute)
        var denom = scaledRoot.BinaryScalar(BinaryOp.Add, epsilon, false);
        // Stryker disable once Boolean : the scalar's side of a product or sum does not change its value (IEEE + and * commute)
        var p2 = Binary(BinaryOp.Sub, m2.Binary(BinaryOp.Div, denom).BinaryScalar(BinaryOp.Mul, lr / bc1, false));
        return (p2, m2, v2);
    }
}
