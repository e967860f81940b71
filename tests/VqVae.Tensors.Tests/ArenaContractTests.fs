/// TensorArena's contract as a training loop relies on it: null refusals by name, the thread and nesting rules
/// with their messages, what a scope adopts and disposes, which results are pooled (from FloatPool.MinLength
/// floats up), that a scope's arrays go back to the pool and come out again (zeroed when asked), and the pool's
/// bound. The pool is process-wide, so these tests (and the backend ones that set process-wide state) share a
/// collection that runs alone: counts and reused arrays are then exact.
namespace VqVae.Tensors.Tests

open System
open System.Runtime.CompilerServices
open System.Threading
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.Refusals

/// Tests that set or count process-wide tensor state (the float pool, the default backend, the registry,
/// the thread setting) run alone, after the parallel ones.
[<CollectionDefinition("Tensor globals", DisableParallelization = true)>]
type TensorGlobalsCollection() = class end

[<Collection("Tensor globals")>]
module ArenaContractTests =

    type private Resource() =
        member val Disposed = 0 with get, set
        interface IDisposable with
            member this.Dispose() = this.Disposed <- this.Disposed + 1

    [<Fact>]
    let ``Keep, IsArenaStorage and Adopt refuse null by name`` () =
        Assert.Equal("t", nullArgumentOf (fun () -> TensorArena.Keep(Unchecked.defaultof<Tensor>)))
        Assert.Equal("t", nullArgumentOf (fun () -> TensorArena.IsArenaStorage(Unchecked.defaultof<Tensor>)))
        Assert.Equal("resource", nullArgumentOf (fun () -> TensorArena.Adopt(Unchecked.defaultof<IDisposable>)))

    [<Fact>]
    let ``Adopt registers nothing outside a scope, and the innermost scope disposes what it adopted when it ends`` () =
        let loose = new Resource()
        Assert.Null(TensorArena.Adopt loose)
        let outer = TensorArena.Begin()
        let inner = TensorArena.Begin()
        try
            let r = new Resource()
            Assert.Same(inner, TensorArena.Adopt r)
            Assert.Equal(0, r.Disposed)
            inner.Dispose()
            Assert.Equal(1, r.Disposed)
            outer.Dispose()
            inner.Dispose() // a second end is a no-op
            Assert.Equal(1, r.Disposed)
            Assert.Equal(0, loose.Disposed)
        finally
            // a failure must not leave a scope active on this thread for the next test
            inner.Dispose()
            outer.Dispose()

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let private adoptInto (scope: TensorArena) =
        let r = new Resource()
        Assert.Same(scope, TensorArena.Adopt r)
        WeakReference(r)

    [<Fact>]
    let ``an ended scope keeps nothing it adopted alive`` () =
        // a stale tensor keeps its ended scope; the scope must not keep every other adopted resource with it
        let scope = TensorArena.Begin()
        let weak = adoptInto scope
        scope.Dispose()
        GC.Collect()
        GC.WaitForPendingFinalizers()
        GC.Collect()
        Assert.False(weak.IsAlive)
        GC.KeepAlive scope

    [<Fact>]
    let ``a scope must end on the thread that began it`` () =
        let scope = TensorArena.Begin()
        try
            let mutable seen: exn | null = null
            let t = Thread(fun () -> try scope.Dispose() with e -> seen <- e)
            t.Start()
            t.Join()
            let e = Assert.IsType<InvalidOperationException>(seen)
            Assert.Equal("tensorArena: a scope must end on the thread that began it.", e.Message)
            Assert.False(scope.IsDisposed)
            Assert.True(TensorArena.IsActive)
        finally scope.Dispose()
        Assert.True(scope.IsDisposed)

    [<Fact>]
    let ``scopes must end innermost first, with that message`` () =
        let outer = TensorArena.Begin()
        let inner = TensorArena.Begin()
        try
            let e = Assert.Throws<InvalidOperationException>(fun () -> outer.Dispose())
            Assert.Equal("tensorArena: scopes must end innermost first.", e.Message)
        finally
            inner.Dispose()
            outer.Dispose()

    [<Fact>]
    let ``results from MinLength floats up are pooled, smaller ones and those outside a scope are ordinary arrays`` () =
        Assert.Equal(1024, FloatPool.MinLength)
        let outside = Tensor.Zeros(1024) + 1f
        Assert.False(TensorArena.IsArenaStorage outside)
        let _, none = TensorArena.Alloc(4096, true)
        Assert.Null(none)
        use scope = TensorArena.Begin()
        Assert.False(TensorArena.IsArenaStorage(Tensor.Zeros(1023) + 1f))
        Assert.Equal(0, scope.RentedArrays)
        Assert.True(TensorArena.IsArenaStorage(Tensor.Zeros(1024) + 1f))
        Assert.Equal(1, scope.RentedArrays)
        let _, small = TensorArena.Alloc(1023, false)
        let _, large = TensorArena.Alloc(1024, false)
        Assert.Null(small)
        Assert.Same(scope, large)
        Assert.Equal(2, scope.RentedArrays)

    [<Fact>]
    let ``a scope's arrays go back to the pool when it ends and the next scope takes them out again, zeroed when asked`` () =
        let len = 5003 // a length no other test uses: the pool is exact-length
        let scope = TensorArena.Begin()
        let arr, owner = TensorArena.Alloc(len, false)
        Assert.Same(scope, owner)
        Assert.Equal(1, scope.RentedArrays)
        Array.fill arr 0 len 7f
        let held = FloatPool.PooledFloats
        scope.Dispose()
        Assert.Equal(0, scope.RentedArrays)
        Assert.Equal(held + int64 len, FloatPool.PooledFloats)
        let again = TensorArena.Begin()
        try
            let reused, _ = TensorArena.Alloc(len, true)
            Assert.Same(arr, reused)
            Assert.Equal(held, FloatPool.PooledFloats)
            Assert.True(Array.forall (fun v -> v = 0f) reused, "a reused array asked zeroed holds old values")
        finally again.Dispose()

    [<Fact>]
    let ``the pool holds at most MaxPooledFloats: an array that would pass the bound is left to the GC`` () =
        let len = 5011
        let saved = FloatPool.MaxPooledFloats
        try
            let scope = TensorArena.Begin()
            let a, _ = TensorArena.Alloc(len, false)
            let b, _ = TensorArena.Alloc(len, false)
            // room for exactly one of the two: the first returned reaches the bound, the second would pass it
            FloatPool.MaxPooledFloats <- FloatPool.PooledFloats + int64 len
            scope.Dispose()
            Assert.Equal(FloatPool.MaxPooledFloats, FloatPool.PooledFloats)
            let next = TensorArena.Begin()
            try
                let first, _ = TensorArena.Alloc(len, false)
                let second, _ = TensorArena.Alloc(len, false)
                Assert.Same(a, first)
                Assert.NotSame(b, second)
                Assert.NotSame(a, second)
            finally next.Dispose()
        finally FloatPool.MaxPooledFloats <- saved

    /// Leaves `count` arrays of `len` NaNs in the pool, as a scope whose results held them would at its end.
    let private dirtyPool (len: int) (count: int) =
        let scope = TensorArena.Begin()
        for _ in 1 .. count do
            let a, _ = TensorArena.Alloc(len, false)
            Array.fill a 0 len nanf
        scope.Dispose()

    [<Fact>]
    let ``ops that write only some elements of their result start from zeros, also on storage the pool hands back dirty`` () =
        // Lengths no other test uses (the pool is exact-length): 37·41, 43·37 and 39·41 floats.
        dirtyPool 1517 2
        dirtyPool 1591 2
        dirtyPool 1599 2
        let scope = TensorArena.Begin()
        try
            let idx = Array.init 37 (fun i -> i * 5 % 41)
            let oneHot = Tensor.OneHot(idx, 41)
            Assert.True(TensorArena.IsArenaStorage oneHot)
            Assert.Equal<float32[]>(Array.init 1517 (fun j -> if j % 41 = idx[j / 41] then 1f else 0f), oneHot.ToArray())
            let rows = Tensor.Uniform(Rng.Seed 1L, -1f, 1f, 5, 37)
            let into = [| 3; 0; 3; 42; 7 |]
            let scattered = rows.ScatterAddRows(into, 43)
            Assert.True(TensorArena.IsArenaStorage scattered)
            let r = rows.ToArray()
            let expected = Array.zeroCreate<float32> 1591
            into |> Array.iteri (fun i t -> for j in 0 .. 36 do expected[t * 37 + j] <- expected[t * 37 + j] + r[i * 37 + j])
            Assert.Equal<float32[]>(expected, scattered.ToArray())
            // An empty inner dimension: the product is all zeros.
            let empty = Tensor.MatMul(Tensor.Zeros(39, 0), Tensor.Zeros(0, 41))
            Assert.True(TensorArena.IsArenaStorage empty)
            Assert.Equal<float32[]>(Array.zeroCreate 1599, empty.ToArray())
        finally scope.Dispose()

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let private dropGarbage (len: int) =
        let junk = GC.AllocateUninitializedArray<float32>(len)
        Array.fill junk 0 len nanf
        GC.KeepAlive junk

    [<Fact>]
    let ``storage asked zeroed outside a scope is zeroed, even where dropped garbage lay`` () =
        let len = 1 <<< 20 // large-object heap: its freed space is reused as it was
        for _ in 1 .. 4 do
            dropGarbage len
            GC.Collect()
            let arr, owner = TensorArena.Alloc(len, true)
            Assert.Null(owner)
            Assert.True(Array.forall (fun v -> v = 0f) arr, "a zeroed allocation holds old values")
