using TorchSharp;
using VqVae.Tensors.Backends;
using TT = TorchSharp.torch.Tensor;

namespace VqVae.Tensors.Torch;

// Elementwise ops and their fused backward helpers, in the same IEEE operation order as the CPU
// backend's (so that the two backends agree to rounding).
internal sealed partial class TorchRawTensor
{
    /// <inheritdoc/>
    public override RawTensor Binary(BinaryOp op, RawTensor other)
    {
        var b = Other(other);
        return Op(k => op switch
        {
            BinaryOp.Add => T.add(b, k.Of(1f)), // alpha given: TorchSharp's add(b) would make it implicitly
            BinaryOp.Sub => T.sub(b),
            BinaryOp.Mul => T.mul(b),
            BinaryOp.Div => T.div(b),
            BinaryOp.Pow => T.pow(b),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
        });
    }

    /// <inheritdoc/>
    public override RawTensor BinaryScalar(BinaryOp op, float s, bool scalarOnLeft) => Op(k => (op, scalarOnLeft) switch
    {
        (BinaryOp.Add, _) => T.add(k.Of(s), k.Of(1f)),
        (BinaryOp.Mul, _) => T.mul(k.Of(s)),
        (BinaryOp.Sub, false) => T.sub(k.Of(s)),
        (BinaryOp.Sub, true) => torch.full_like(T, k.Of(s)).sub(T),
        (BinaryOp.Div, false) => T.div(k.Of(s)),
        (BinaryOp.Div, true) => torch.full_like(T, k.Of(s)).div(T),
        (BinaryOp.Pow, false) => s == 2f ? T.mul(T) : T.pow(k.Of(s)),
        (BinaryOp.Pow, true) => torch.full_like(T, k.Of(s)).pow(T),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    });

    /// <inheritdoc/>
    public override RawTensor Unary(UnaryOp op) => Op(k => op switch
    {
        UnaryOp.Neg => T.neg(),
        UnaryOp.Exp => T.exp(),
        UnaryOp.Log => T.log(),
        UnaryOp.Sqrt => T.sqrt(),
        UnaryOp.Abs => T.abs(),
        UnaryOp.Relu => T.relu(),
        UnaryOp.Sigmoid => T.sigmoid(),
        UnaryOp.Tanh => T.tanh(),
        UnaryOp.Sign => T.sign(),
        UnaryOp.Step => T.gt(k.Of(0f)).to_type(torch.float32),
        UnaryOp.Square => T.mul(T),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op"),
    });

    /// <inheritdoc/>
    public override RawTensor Clamp(float lo, float hi) => Op(k => T.clamp_min(k.Of(lo)).clamp_max(k.Of(hi)));

    /// <inheritdoc/>
    public override RawTensor InRange(float lo, float hi) => Op(k => T.ge(k.Of(lo)).logical_and(T.le(k.Of(hi))).to_type(torch.float32));

    /// <inheritdoc/>
    public override RawTensor ReluBackward(RawTensor x)
    {
        var xs = Other(x);
        return Op(k => T.mul(xs.gt(k.Of(0f)).to_type(torch.float32)));
    }

    /// <inheritdoc/>
    public override RawTensor SigmoidBackward(RawTensor y)
    {
        var ys = Other(y);
        return Op(k => T.mul(ys).mul(torch.full_like(ys, k.Of(1f)).sub(ys)));
    }

    /// <inheritdoc/>
    public override (RawTensor P, RawTensor M, RawTensor V) AdamUpdate(RawTensor g, RawTensor m, RawTensor v,
        float lr, float beta1, float beta2, float epsilon, float weightDecay, float bc1, float sqrtBc2)
    {
        TT gs = Other(g), ms = Other(m), vs = Other(v);
        TT p2, m2, v2;
        using (var k = new HeldScalars())
        using (var scope = torch.NewDisposeScope())
        {
            // The formula of RawTensor.AdamUpdate, op for op.
            if (weightDecay != 0f) gs = gs.add(T.mul(k.Of(weightDecay)), k.Of(1f));
            m2 = ms.mul(k.Of(beta1)).add(gs.mul(k.Of(1f - beta1)), k.Of(1f));
            v2 = vs.mul(k.Of(beta2)).add(gs.mul(gs).mul(k.Of(1f - beta2)), k.Of(1f));
            var denom = v2.sqrt().div(k.Of(sqrtBc2)).add(k.Of(epsilon), k.Of(1f));
            p2 = T.sub(m2.div(denom).mul(k.Of(lr / bc1)));
            p2.MoveToOuterDisposeScope(); m2.MoveToOuterDisposeScope(); v2.MoveToOuterDisposeScope();
        }
        GC.KeepAlive(this); GC.KeepAlive(g); GC.KeepAlive(m); GC.KeepAlive(v); // see Wrap
        // Parameters and moments outlive the step: never arena storage.
        return (new TorchRawTensor(p2, backend, unscoped: true), new TorchRawTensor(m2, backend, unscoped: true), new TorchRawTensor(v2, backend, unscoped: true));
    }
}
