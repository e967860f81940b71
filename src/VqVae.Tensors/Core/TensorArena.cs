using System.Runtime.CompilerServices;

namespace VqVae.Tensors;

/// <summary>
/// A scope whose op results take their storage from a pool instead of fresh arrays, and give it
/// back when the scope ends: a training step's forward and backward pass then allocate (almost)
/// nothing in steady state. Tensors made inside the scope must not be used after it: their storage
/// is recycled, and any later read throws <see cref="ObjectDisposedException"/> (never silently
/// reads another tensor's values). Results that must outlive the scope are copied out with
/// <see cref="Keep(Tensor)"/> (or made by ops documented to allocate outside arenas, like
/// <see cref="Tensor.AdamUpdate"/>). Values are bitwise the same with and without an arena.
/// </summary>
/// <remarks>
/// Scopes belong to the thread that begins them and nest: an inner scope's tensors are recycled at
/// its end. Tensors made by <c>Tensor.FromArray</c>, <c>Zeros</c>, <c>Uniform</c> and the like are
/// never arena storage.
/// </remarks>
/// <example><code>
/// using (TensorArena.Begin())
/// {
///     var (loss, grads) = Grad.ValueAndGrad(lossOf, model);
///     (model, state) = adam.Update(grads, state, model);   // Adam's results live outside the arena
///     lossValue = loss.ToScalar();
/// }
/// </code></example>
public sealed class TensorArena : IDisposable
{
    [ThreadStatic] private static TensorArena? current;

    private readonly TensorArena? outer;
    private readonly Thread thread;
    private readonly List<float[]> rented = new();
    private readonly List<IDisposable> adopted = new();
    private bool disposed;

    private TensorArena(TensorArena? outer) { this.outer = outer; thread = Thread.CurrentThread; }

    /// <summary>Starts a scope on this thread; dispose it to end it and recycle its tensors' storage.</summary>
    public static TensorArena Begin() => current = new TensorArena(current);

    /// <summary>True while some scope is active on this thread.</summary>
    public static bool IsActive => current is not null;

    /// <summary>True once the scope has ended (its tensors' storage is recycled).</summary>
    public bool IsDisposed => disposed;

    /// <summary>Number of arrays this scope has taken from the pool so far (diagnostics).</summary>
    public int RentedArrays => rented.Count;

    /// <summary>
    /// <paramref name="t"/> if its storage outlives every arena, else an untracked copy on ordinary
    /// storage (values identical). Use it on whatever leaves a scope.
    /// </summary>
    public static Tensor Keep(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.Raw.IsScoped ? new Tensor(t.Raw.Unscoped()) : t;
    }

    /// <summary>True if <paramref name="t"/>'s storage belongs to an arena (live or ended).</summary>
    public static bool IsArenaStorage(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.Raw.IsScoped;
    }

    /// <summary>
    /// For backends with native storage (libtorch): the innermost scope active on this thread, which
    /// will dispose <paramref name="resource"/> when it ends; null, and nothing registered, when no
    /// scope is active. A backend's raw tensor keeps the returned scope to answer
    /// <see cref="Backends.RawTensor.IsScoped"/> and to refuse reads after it ended.
    /// </summary>
    public static TensorArena? Adopt(IDisposable resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var a = current;
        a?.adopted.Add(resource);
        return a;
    }

    /// <summary>Ends the scope: its tensors' storage goes back to the pool.</summary>
    public void Dispose()
    {
        if (disposed) return;
        if (!ReferenceEquals(Thread.CurrentThread, thread))
            throw new InvalidOperationException("tensorArena: a scope must end on the thread that began it.");
        if (!ReferenceEquals(current, this))
            throw new InvalidOperationException("tensorArena: scopes must end innermost first.");
        disposed = true;
        current = outer;
        FloatPool.Return(rented);
        rented.Clear();
        foreach (var r in adopted) r.Dispose();
        adopted.Clear();
    }

    /// <summary>
    /// Storage of <paramref name="length"/> floats for an op result: from the pool when an arena is
    /// active on this thread (then <paramref name="owner"/> is it), else a fresh array. Zeroed when
    /// <paramref name="zero"/>; otherwise the caller writes every element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float[] Alloc(int length, bool zero, out TensorArena? owner)
    {
        var a = current;
        owner = a;
        if (a is null || length < FloatPool.MinLength) { owner = null; return zero ? new float[length] : GC.AllocateUninitializedArray<float>(length); }
        var arr = FloatPool.Rent(length);
        if (zero) Array.Clear(arr);
        a.rented.Add(arr);
        return arr;
    }
}

/// <summary>
/// Exact-length pool of float arrays for <see cref="TensorArena"/> (op shapes recur every step, so
/// exact lengths reuse perfectly and tensors keep Length == array length). Bounded: beyond
/// <see cref="MaxPooledFloats"/> returned arrays are left to the GC.
/// </summary>
internal static class FloatPool
{
    /// <summary>Smaller results are ordinary arrays (cheap for the GC, not worth a lock).</summary>
    internal const int MinLength = 1024;
    /// <summary>The most floats the pool holds at once (512 MB); settable only so that tests can reach the bound.</summary>
    internal static long MaxPooledFloats = 128L << 20;

    private static readonly Dictionary<int, Stack<float[]>> free = new();
    private static long pooled;

    /// <summary>Floats the pool holds now (diagnostics and tests).</summary>
    internal static long PooledFloats { get { lock (free) return pooled; } }

    internal static float[] Rent(int length)
    {
        lock (free)
        {
            if (free.TryGetValue(length, out var s) && s.Count > 0)
            {
                pooled -= length;
                return s.Pop();
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    internal static void Return(List<float[]> arrays)
    {
        lock (free)
            foreach (var a in arrays)
            {
                if (pooled + a.Length > MaxPooledFloats) continue;
                if (!free.TryGetValue(a.Length, out var s)) free[a.Length] = s = new Stack<float[]>();
                s.Push(a);
                pooled += a.Length;
            }
    }
}
