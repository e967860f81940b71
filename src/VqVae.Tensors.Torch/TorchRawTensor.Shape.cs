using TorchSharp;
using VqVae.Tensors.Backends;

namespace VqVae.Tensors.Torch;

// Reductions, shape changes, slicing and indexing.
internal sealed partial class TorchRawTensor
{
    /// <inheritdoc/>
    public override RawTensor Sum(int[] dims, bool keepDim) =>
        dims.Length == 0 ? Op(() => T.clone()) : Op(() => T.sum(Longs(dims), keepDim));

    /// <inheritdoc/>
    public override RawTensor Expand(int[] shape) => Op(() => T.expand(Longs(shape)).contiguous());

    /// <inheritdoc/>
    public override RawTensor Reshape(int[] shape) => Op(() => T.reshape(Longs(shape)));

    /// <inheritdoc/>
    public override RawTensor Permute(int[] perm) => Op(() => T.permute(Longs(perm)).contiguous());

    /// <inheritdoc/>
    public override RawTensor Narrow0(int start, int count) => Op(() => T.narrow(0, start, count).contiguous());

    /// <inheritdoc/>
    public override RawTensor Cat0(IReadOnlyList<RawTensor> parts)
    {
        var ts = new torch.Tensor[parts.Count];
        for (int i = 0; i < ts.Length; i++) ts[i] = Other(parts[i]);
        return Op(() => torch.cat(ts, 0));
    }

    /// <inheritdoc/>
    public override RawTensor Narrow(int dim, int start, int length) => Op(() => T.narrow(dim, start, length).contiguous());

    /// <inheritdoc/>
    public override RawTensor Cat(int dim, IReadOnlyList<RawTensor> parts)
    {
        var ts = new torch.Tensor[parts.Count];
        for (int i = 0; i < ts.Length; i++) ts[i] = Other(parts[i]);
        return Op(() => torch.cat(ts, dim));
    }

    /// <inheritdoc/>
    public override RawTensor GatherRows(int[] indices) => Op(() => T.index_select(0, Index(indices)));

    /// <inheritdoc/>
    public override RawTensor ScatterAddRows(int[] indices, int rows) =>
        Op(k => torch.zeros([rows, shape[1]], torch.float32, backend.Device).index_add_(0, Index(indices), T, k.Of(1f)));

    /// <inheritdoc/>
    public override int[] ArgMinRows()
    {
        using var scope = torch.NewDisposeScope();
        var idx = Ints(T.argmin(1)); // ties: the first minimal index, as on the CPU backend
        GC.KeepAlive(this); // see Wrap
        return idx;
    }

    /// <inheritdoc/>
    public override int[] NearestRows(RawTensor codebook)
    {
        var e = Other(codebook);
        using var k = new HeldScalars();
        using var scope = torch.NewDisposeScope();
        // (‖z‖² + ‖e‖²) − 2·z·e, the CPU kernel's formula and order; argmin keeps the first of ties.
        var zn = T.mul(T).sum(1, true);
        var en = e.mul(e).sum(1).unsqueeze(0);
        var d = zn.add(en, k.Of(1f)).sub(T.mm(e.t()).mul(k.Of(2f)));
        var idx = Ints(d.argmin(1));
        // libtorch's GEMM may round identical codes' dot products differently (edge blocks take
        // another path), so a duplicated code could win over its first copy: map each index to the
        // first code with the same bits, as the contract (ties → lowest index) asks.
        var first = FirstCopies(((TorchRawTensor)codebook).ToArray(), codebook.Shape[0], shape[1]);
        if (first is not null) for (int i = 0; i < idx.Length; i++) idx[i] = first[idx[i]];
        GC.KeepAlive(this); GC.KeepAlive(codebook); // see Wrap
        return idx;
    }

    // For each code, the lowest index of a code with identical bits; null when all codes differ.
    private static int[]? FirstCopies(float[] e, int k, int d)
    {
        var seen = new Dictionary<string, int>(k);
        int[]? first = null;
        var bytes = new byte[d * sizeof(float)];
        for (int j = 0; j < k; j++)
        {
            Buffer.BlockCopy(e, j * d * sizeof(float), bytes, 0, bytes.Length);
            var key = Convert.ToBase64String(bytes);
            if (seen.TryGetValue(key, out var f))
            {
                first ??= Enumerable.Range(0, k).ToArray();
                first[j] = f;
            }
            else seen[key] = j;
        }
        return first;
    }

    /// <inheritdoc/>
    public override RawTensor OneHot(int[] indices, int k) =>
        Op(() => torch.nn.functional.one_hot(Index(indices), k).to_type(torch.float32));
}
