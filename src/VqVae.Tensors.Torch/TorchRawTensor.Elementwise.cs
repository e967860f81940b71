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
        return Op(() => op switch
        {
            BinaryOp.Add => T.add(b),
            BinaryOp.Sub => T.sub(b),
            BinaryOp.Mul => T.mul(b),
            BinaryOp.Div => T.div(b),
            BinaryOp.Pow => T.pow(b),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
        });
    }

    /// <inheritdoc/>
    public override RawTensor BinaryScalar(BinaryOp op, float s, bool scalarOnLeft) => Op(() => (op, scalarOnLeft) switch
    {
        (BinaryOp.Add, _) => T.add(s),
        (BinaryOp.Mul, _) => T.mul(s),
        (BinaryOp.Sub, false) => T.sub(s),
        (BinaryOp.Sub, true) => torch.full_like(T, s).sub(T),
        (BinaryOp.Div, false) => T.div(s),
        (BinaryOp.Div, true) => torch.full_like(T, s).div(T),
        (BinaryOp.Pow, false) => s == 2f ? T.mul(T) : T.pow(s),
        (BinaryOp.Pow, true) => torch.full_like(T, s).pow(T),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    });

    /// <inheritdoc/>
    public override RawTensor Unary(UnaryOp op) => Op(() => op switch
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
        UnaryOp.Step => T.gt(0f).to_type(torch.float32),
        UnaryOp.Square => T.mul(T),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op"),
    });

    /// <inheritdoc/>
    public override RawTensor Clamp(float lo, float hi) => Op(() => T.clamp_min(lo).clamp_max(hi));

    /// <inheritdoc/>
    public override RawTensor InRange(float lo, float hi) => Op(() => T.ge(lo).logical_and(T.le(hi)).to_type(torch.float32));

    /// <inheritdoc/>
    public override RawTensor ReluBackward(RawTensor x)
    {
        var xs = Other(x);
        return Op(() => T.mul(xs.gt(0f).to_type(torch.float32)));
    }

    /// <inheritdoc/>
    public override RawTensor SigmoidBackward(RawTensor y)
    {
        var ys = Other(y);
        return Op(() => T.mul(ys).mul(torch.full_like(ys, 1f).sub(ys)));
    }

    /// <inheritdoc/>
    public override (RawTensor P, RawTensor M, RawTensor V) AdamUpdate(RawTensor g, RawTensor m, RawTensor v,
        float lr, float beta1, float beta2, float epsilon, float weightDecay, float bc1, float sqrtBc2)
    {
        TT gs = Other(g), ms = Other(m), vs = Other(v);
        TT p2, m2, v2;
        using (var scope = torch.NewDisposeScope())
        {
            // The formula of RawTensor.AdamUpdate, op for op.
            if (weightDecay != 0f) gs = gs.add(T.mul(weightDecay));
            m2 = ms.mul(beta1).add(gs.mul(1f - beta1));
            v2 = vs.mul(beta2).add(gs.mul(gs).mul(1f - beta2));
            var denom = v2.sqrt().div(sqrtBc2).add(epsilon);
            p2 = T.sub(m2.div(denom).mul(lr / bc1));
            p2.MoveToOuterDisposeScope(); m2.MoveToOuterDisposeScope(); v2.MoveToOuterDisposeScope();
        }
        // Parameters and moments outlive the step: never arena storage.
        return (new TorchRawTensor(p2, backend, unscoped: true), new TorchRawTensor(m2, backend, unscoped: true), new TorchRawTensor(v2, backend, unscoped: true));
    }
}
