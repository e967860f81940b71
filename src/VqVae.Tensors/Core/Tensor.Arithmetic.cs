using VqVae.Tensors.Diagnostics;
using VqVae.Tensors.Backends;

namespace VqVae.Tensors;

// Elementwise arithmetic with broadcasting. Backward of a broadcast input sums the adjoint back
// to that input's shape.
public sealed partial class Tensor
{
    private static Tensor BinaryOpT(string name, BinaryOp op, Tensor a, Tensor b, Func<Tensor, Tensor, Tensor, Tensor, Tensor?[]> backward)
    {
        ArgumentNullException.ThrowIfNull(a); ArgumentNullException.ThrowIfNull(b);
        using var _ = OpProfiler.Time(name);
        ShapeUtil.Broadcast(name, a.Raw.Shape, b.Raw.Shape);
        var y = a.Raw.Binary(op, b.Raw);
        Tensor? yt = null;
        var res = Record(name, y, [a, b], dy => backward(dy, a, b, yt!));
        yt = res.NoDiff();
        return res;
    }

    private Tensor ScalarOpT(string name, BinaryOp op, float s, bool left, Func<Tensor, Tensor, Tensor> backward)
    {
        var self = this;
        using var _ = OpProfiler.Time(name);
        return Record(name, Raw.BinaryScalar(op, s, left), [this], dy => [backward(dy, self)]);
    }

    private Tensor UnaryOpT(string name, UnaryOp op, Func<Tensor, Tensor, Tensor, Tensor> backward)
    {
        var self = this;
        using var _ = OpProfiler.Time(name);
        var y = new Tensor(Raw.Unary(op));
        return Record(name, y.Raw, [this], dy => [backward(dy, self, y)]);
    }

    private static Tensor? IfTracked(Tensor t, Func<Tensor> f) => t.IsTracked ? f() : null;

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => BinaryOpT("add", BinaryOp.Add, a, b,
        (dy, a, b, _) => [IfTracked(a, () => dy.SumToShape(a.Raw.Shape)), IfTracked(b, () => dy.SumToShape(b.Raw.Shape))]);

    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => BinaryOpT("sub", BinaryOp.Sub, a, b,
        (dy, a, b, _) => [IfTracked(a, () => dy.SumToShape(a.Raw.Shape)), IfTracked(b, () => (-dy).SumToShape(b.Raw.Shape))]);

    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => BinaryOpT("mul", BinaryOp.Mul, a, b,
        (dy, a, b, _) => [IfTracked(a, () => (dy * b.NoDiff()).SumToShape(a.Raw.Shape)), IfTracked(b, () => (dy * a.NoDiff()).SumToShape(b.Raw.Shape))]);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => BinaryOpT("div", BinaryOp.Div, a, b,
        (dy, a, b, y) => [IfTracked(a, () => (dy / b.NoDiff()).SumToShape(a.Raw.Shape)), IfTracked(b, () => (-dy * y / b.NoDiff()).SumToShape(b.Raw.Shape))]);

    /// <summary>Elementwise a^b with broadcasting (b's gradient needs a &gt; 0).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => BinaryOpT("pow", BinaryOp.Pow, a, b,
        (dy, a, b, y) => [IfTracked(a, () => (dy * b.NoDiff() * Pow(a.NoDiff(), b.NoDiff() - 1f)).SumToShape(a.Raw.Shape)),
                          IfTracked(b, () => (dy * y * Log(a.NoDiff())).SumToShape(b.Raw.Shape))]);

    /// <summary>Elementwise a^p for a scalar exponent (F#: <c>t ** 2.0f</c>).</summary>
    public static Tensor Pow(Tensor a, float p)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.ScalarOpT("pow", BinaryOp.Pow, p, false, (dy, x) => PowGrad(dy, x.NoDiff(), p));
    }

    // dy·p·x^(p−1); for p = 2 without the pow pass.
    private static Tensor PowGrad(Tensor dy, Tensor x, float p)
    {
        // Stryker disable once Statement : equivalent, without the shortcut p = 2 gives dy·pow(x, 1)·2, the same products in the same order (pow(x, 1) is x exactly), only slower
        if (p == 2f) return dy * x * 2f;
        return dy * Pow(x, p - 1f) * p;
    }

    /// <summary>Adds a scalar.</summary>
    // Stryker disable once Boolean : equivalent, s + a and a + s are the same float sum bit for bit
    public static Tensor operator +(Tensor a, float s) => a.ScalarOpT("add", BinaryOp.Add, s, false, (dy, _) => dy);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(float s, Tensor a) => a + s;
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, float s) => a.ScalarOpT("sub", BinaryOp.Sub, s, false, (dy, _) => dy);
    /// <summary>Scalar minus tensor.</summary>
    public static Tensor operator -(float s, Tensor a) => a.ScalarOpT("rsub", BinaryOp.Sub, s, true, (dy, _) => -dy);
    /// <summary>Multiplies by a scalar.</summary>
    // Stryker disable once Boolean : equivalent, s · a and a · s are the same float product bit for bit
    public static Tensor operator *(Tensor a, float s) => a.ScalarOpT("mul", BinaryOp.Mul, s, false, (dy, _) => dy * s);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(float s, Tensor a) => a * s;
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, float s) => a.ScalarOpT("div", BinaryOp.Div, s, false, (dy, _) => dy / s);
    /// <summary>Scalar divided by tensor.</summary>
    public static Tensor operator /(float s, Tensor a) => a.ScalarOpT("rdiv", BinaryOp.Div, s, true, (dy, x) => -dy * s / x.NoDiff().Square());

    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.UnaryOpT("neg", UnaryOp.Neg, (dy, _, _) => dy.Neg());
    private Tensor Neg() => new(Raw.Unary(UnaryOp.Neg));

    /// <summary>e^x (F#: <c>exp t</c>).</summary>
    public static Tensor Exp(Tensor a) => a.UnaryOpT("exp", UnaryOp.Exp, (dy, _, y) => dy * y);
    /// <summary>Natural logarithm (F#: <c>log t</c>).</summary>
    public static Tensor Log(Tensor a) => a.UnaryOpT("log", UnaryOp.Log, (dy, x, _) => dy / x.NoDiff());
    /// <summary>Square root (F#: <c>sqrt t</c>).</summary>
    public static Tensor Sqrt(Tensor a) => a.UnaryOpT("sqrt", UnaryOp.Sqrt, (dy, _, y) => dy * 0.5f / y);
    /// <summary>Absolute value (F#: <c>abs t</c>); gradient sign(x), 0 at 0.</summary>
    public static Tensor Abs(Tensor a) => a.UnaryOpT("abs", UnaryOp.Abs, (dy, x, _) => dy * new Tensor(x.Raw.Unary(UnaryOp.Sign)));
    /// <summary>Hyperbolic tangent (F#: <c>tanh t</c>).</summary>
    public static Tensor Tanh(Tensor a) => a.UnaryOpT("tanh", UnaryOp.Tanh, (dy, _, y) => dy * (1f - y * y));
    /// <summary>Logistic sigmoid.</summary>
    public static Tensor Sigmoid(Tensor a) => a.UnaryOpT("sigmoid", UnaryOp.Sigmoid, (dy, _, y) => SigmoidGrad(dy, y));
    /// <summary>max(x, 0); gradient 1 where x &gt; 0, else 0.</summary>
    public static Tensor Relu(Tensor a) => a.UnaryOpT("relu", UnaryOp.Relu, (dy, x, _) => ReluGrad(dy, x));

    // dy · [x > 0] in one pass (bitwise dy · step(x)); linear in dy, so its own adjoint.
    private static Tensor ReluGrad(Tensor dy, Tensor x)
    {
        var mask = x.NoDiff();
        // Stryker disable once String : equivalent, this runs only inside a backward rule, with recording off, so the op is never taped and its name never read
        return Record("reluGrad", dy.Raw.ReluBackward(mask.Raw), [dy], g => [ReluGrad(g, mask)]);
    }

    // (dy · y) · (1 − y) in one pass (bitwise the unfused product); its adjoint with respect to dy
    // is the same map (y is taken as a constant: backward rules run without recording).
    private static Tensor SigmoidGrad(Tensor dy, Tensor y)
    {
        var yc = y.NoDiff();
        // Stryker disable once String : equivalent, this runs only inside a backward rule, with recording off, so the op is never taped and its name never read
        return Record("sigmoidGrad", dy.Raw.SigmoidBackward(yc.Raw), [dy], g => [SigmoidGrad(g, yc)]);
    }

    /// <summary>e^x.</summary>
    public Tensor Exp() => Exp(this);
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Log(this);
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Sqrt(this);
    /// <summary>Absolute value.</summary>
    public Tensor Abs() => Abs(this);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Tanh(this);
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Sigmoid(this);
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Relu(this);
    /// <summary>x².</summary>
    public Tensor Square() => UnaryOpT("square", UnaryOp.Square, (dy, x, _) => dy * x.NoDiff() * 2f);
    /// <summary>x^p.</summary>
    public Tensor Pow(float p) => Pow(this, p);

    /// <summary>Values clamped to [lo, hi]; gradient 1 inside the range (ends included), 0 outside.</summary>
    public Tensor Clamp(float lo, float hi)
    {
        if (!(lo <= hi)) throw new ArgumentException($"clamp: lo must be ≤ hi, got lo = {lo}, hi = {hi}.", nameof(lo));
        var self = this;
        using var _ = OpProfiler.Time("clamp");
        return Record("clamp", Raw.Clamp(lo, hi), [this], dy => [dy * new Tensor(self.Raw.InRange(lo, hi))]);
    }
}
