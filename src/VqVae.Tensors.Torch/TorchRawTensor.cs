using TorchSharp;
using VqVae.Tensors.Backends;
using TT = TorchSharp.torch.Tensor;

namespace VqVae.Tensors.Torch;

/// <summary>
/// A raw tensor held by libtorch (float32, contiguous or a view: values never change after
/// construction, so views are safe). Made inside a <see cref="TensorArena"/> scope, its native
/// storage is freed when the scope ends (like the CPU backend's pooled arrays); otherwise when the
/// garbage collector finalizes it.
/// </summary>
internal sealed partial class TorchRawTensor : RawTensor, IDisposable
{
    private readonly TT t;
    private readonly TorchBackend backend;
    private readonly int[] shape;
    private readonly TensorArena? owner;

    /// <summary>Wraps <paramref name="tensor"/> (ownership passes to this object); adopted by the active arena scope unless <paramref name="unscoped"/>.</summary>
    internal TorchRawTensor(TT tensor, TorchBackend backend, bool unscoped = false)
    {
        t = tensor;
        this.backend = backend;
        var dims = tensor.shape;
        shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) shape[i] = checked((int)dims[i]);
        owner = unscoped ? null : TensorArena.Adopt(this);
    }

    /// <summary>The libtorch tensor; throws once its arena scope has ended.</summary>
    internal TT T
    {
        get
        {
            if (owner is { IsDisposed: true })
                throw new ObjectDisposedException(nameof(TensorArena), "tensor: its storage was freed when its TensorArena scope ended; use TensorArena.Keep on results that must outlive the scope.");
            return t;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => t.Dispose();

    /// <inheritdoc/>
    public override Backend Backend => backend;
    /// <inheritdoc/>
    public override int[] Shape => shape;
    /// <inheritdoc/>
    public override int Length
    {
        get
        {
            var n = T.numel();
            GC.KeepAlive(this); // see Wrap
            return (int)n;
        }
    }
    /// <inheritdoc/>
    public override bool IsScoped => owner is not null;
    /// <inheritdoc/>
    public override RawTensor Unscoped()
    {
        if (owner is null) return this;
        var copy = new TorchRawTensor(T.clone(), backend, unscoped: true);
        GC.KeepAlive(this); // alive until libtorch has copied it (see Wrap)
        return copy;
    }

    /// <inheritdoc/>
    public override float[] ToArray()
    {
        using var scope = torch.NewDisposeScope();
        var c = T.device_type == DeviceType.CPU ? T : T.cpu();
        if (!c.is_contiguous()) c = c.contiguous();
        var values = c.data<float>().ToArray();
        GC.KeepAlive(this); // alive until libtorch's storage has been read (see Wrap)
        return values;
    }

    /// <inheritdoc/>
    public override float At(int flatIndex)
    {
        using var scope = torch.NewDisposeScope();
        var v = T.reshape(-1)[flatIndex].item<float>();
        GC.KeepAlive(this);
        return v;
    }

    /// <inheritdoc/>
    public override bool HasNonFinite()
    {
        using var scope = torch.NewDisposeScope();
        var finite = T.isfinite().all().item<bool>();
        GC.KeepAlive(this);
        return !finite;
    }

    /// <inheritdoc/>
    public override double SumOfSquares()
    {
        double s = 0;
        foreach (var v in ToArray()) s += (double)v * v; // the CPU backend's order, so the same double
        return s;
    }

    /// <summary>The other operand's libtorch tensor, or a clear error when it is on another backend.</summary>
    private TT Other(RawTensor o, [System.Runtime.CompilerServices.CallerMemberName] string op = "")
    {
        Backend.CheckSame(op, this, o);
        return ((TorchRawTensor)o).T;
    }

    /// <summary>Runs <paramref name="f"/> in a dispose scope (its temporaries are freed at once) and wraps its result.</summary>
    private TorchRawTensor Op(Func<TT> f) => Wrap(backend, f);

    /// <summary>
    /// <see cref="Op(Func{TT})"/> for an op that passes scalars to libtorch: it makes each through
    /// <see cref="HeldScalars.Of"/>, never by TorchSharp's implicit conversion (see HeldScalars for why).
    /// </summary>
    private TorchRawTensor Op(Func<HeldScalars, TT> f)
    {
        using var k = new HeldScalars();
        return Wrap(backend, () => f(k));
    }

    internal static TorchRawTensor Wrap(TorchBackend backend, Func<TT> f)
    {
        TT r;
        using (var scope = torch.NewDisposeScope()) r = f().MoveToOuterDisposeScope();
        // TorchSharp reads a tensor's handle and then calls libtorch without keeping the tensor
        // object alive; a tensor's finalizer frees its storage. The op's closure holds this tensor
        // and its operands: keeping it reachable until libtorch has returned keeps them alive
        // (without it a collection during the call freed an operand under libtorch: wrong values
        // or a crash, TorchLifetimeTests).
        GC.KeepAlive(f);
        return new TorchRawTensor(r, backend);
    }

    private torch.Tensor Index(int[] indices)
    {
        var l = new long[indices.Length];
        for (int i = 0; i < l.Length; i++) l[i] = indices[i];
        var ix = torch.tensor(l, torch.int64);
        return backend.Device.type == DeviceType.CPU ? ix : ix.to(backend.Device);
    }

    private static long[] Longs(int[] a)
    {
        var l = new long[a.Length];
        for (int i = 0; i < a.Length; i++) l[i] = a[i];
        return l;
    }

    private static int[] Ints(TT t)
    {
        var c = t.device_type == DeviceType.CPU ? t : t.cpu();
        var l = c.contiguous().data<long>().ToArray();
        var r = new int[l.Length];
        for (int i = 0; i < l.Length; i++) r[i] = (int)l[i];
        return r;
    }
}
