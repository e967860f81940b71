/// The CPU backend's runtime pieces beneath the kernels, before their first mutation run: the thread setting and its
/// loop (every index exactly once, serially or on the worker pool), the pool's refusals of nested use and its error
/// hand-back, and the per-thread scratch buffers (aligned, reused while large enough, grown when not, refused past the
/// largest array). In the "Tensor globals" collection, which runs alone: it sets the global thread count, and its
/// pool checks need the process-wide pool idle (a large op of another test running beside it had taken the pool).
[<Xunit.Collection("Tensor globals")>]
module VqVae.Tensors.Tests.CpuRuntimeContractTests

#nowarn "9" // NativePtr: the scratch buffers are raw pointers

open System
open System.Threading
open Microsoft.FSharp.NativeInterop
open Xunit
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.Refusals
open VqVae.Tensors.Tests.ThreadCount

[<Fact>]
let ``the thread count refuses fewer than one, by name, and keeps its value`` () =
    withThreads 3 (fun () ->
        for bad in [ 0; -1 ] do
            let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Threading.Threads <- bad)
            Assert.Equal("value", e.ParamName)
            Assert.StartsWith("Threads must be at least 1.", e.Message)
        Assert.Equal(3, Threading.Threads)
        Threading.Threads <- 1
        Assert.Equal(1, Threading.Threads))

[<Theory>]
[<InlineData(false, 4)>]
[<InlineData(true, 1)>]
[<InlineData(true, 4)>]
let ``the loop runs every index exactly once, whatever the threads`` (inParallel: bool) (threads: int) =
    withThreads threads (fun () ->
        let runs = Array.zeroCreate<int> 257
        Threading.For(runs.Length, inParallel, fun i -> Interlocked.Increment(&runs[i]) |> ignore)
        Assert.All(runs, fun r -> Assert.Equal(1, r)))

[<Fact>]
let ``a serial loop runs in index order on the calling thread`` () =
    withThreads 4 (fun () ->
        let caller = Environment.CurrentManagedThreadId
        let order = Collections.Generic.List<int * int>()
        Threading.For(6, false, fun i -> order.Add((i, Environment.CurrentManagedThreadId)))
        Assert.Equal<(int * int) seq>([ for i in 0 .. 5 -> i, caller ], order)
        // One thread allowed, or one index: serial too, even when parallel is asked for.
        order.Clear()
        Threading.Threads <- 1
        Threading.For(3, true, fun i -> order.Add((i, Environment.CurrentManagedThreadId)))
        Assert.Equal<(int * int) seq>([ for i in 0 .. 2 -> i, caller ], order))

[<Fact>]
let ``the pool refuses a nested loop (which then runs serially) and hands back a body's error after every index ran`` () =
    withThreads 2 (fun () ->
        let inner = Array.zeroCreate<int> 8
        let nested = ref 0
        let ran =
            WorkerPool.TryRun(2, 1, fun _ ->
                // Inside a pooled loop the pool is busy: TryRun runs nothing and says so.
                if not (WorkerPool.TryRun(1, 1, fun _ -> ())) then Interlocked.Increment(&nested.contents) |> ignore
                Threading.For(inner.Length, true, fun i -> Interlocked.Increment(&inner[i]) |> ignore))
        Assert.True(ran)
        Assert.Equal(2, nested.Value)
        Assert.All(inner, fun r -> Assert.Equal(2, r))
        let runs = Array.zeroCreate<int> 16
        let e =
            Assert.Throws<AggregateException>(fun () ->
                WorkerPool.TryRun(runs.Length, 1, fun i ->
                    Interlocked.Increment(&runs[i]) |> ignore
                    if i = 5 then invalidOp "index 5 failed") |> ignore)
        Assert.Equal<string seq>([ "index 5 failed" ], e.InnerExceptions |> Seq.map (fun x -> x.Message))
        Assert.All(runs, fun r -> Assert.Equal(1, r))
        // The pool is free again afterwards.
        Assert.True(WorkerPool.TryRun(2, 1, fun _ -> ())))

[<Fact>]
let ``a scratch slot grows by half again, so a slightly larger request does not reallocate at once`` () =
    let address (p: nativeptr<float32>) = NativePtr.toNativeInt p
    let a = Scratch.Get(Scratch.GemmB, 20_000_000L)
    let b = Scratch.Get(Scratch.GemmB, 20_000_001L)   // grows to at least 30,000,000 floats
    Assert.NotEqual(address a, address b)
    Assert.Equal(address b, address (Scratch.Get(Scratch.GemmB, 29_000_000L)))

[<Fact>]
let ``scratch buffers are 64-byte aligned, reused while large enough, grown when not, and refused past the largest array`` () =
    let address (p: nativeptr<float32>) = NativePtr.toNativeInt p
    // Sizes far above anything a test's kernel asks for, and the second more than 1.5 times the first (the growth step).
    let a = Scratch.Get(Scratch.Aux, 8_000_000L)
    Assert.Equal(0n, address a % 64n)
    NativePtr.set a 7_999_999 1.5f   // the whole requested length is writable
    Assert.Equal(address a, address (Scratch.Get(Scratch.Aux, 1_000L)))
    Assert.Equal(address a, address (Scratch.Get(Scratch.Aux, 8_000_000L)))
    let b = Scratch.Get(Scratch.Aux, 13_000_000L)
    Assert.Equal(0n, address b % 64n)
    NativePtr.set b 12_999_999 2.5f
    Assert.Equal(address b, address (Scratch.Get(Scratch.Aux, 12_500_000L)))
    // Other slots are other buffers.
    Assert.NotEqual(address b, address (Scratch.Get(Scratch.Out, 13_000_000L)))
    refusedNaming "size" [ $"Scratch request of {Array.MaxLength} floats exceeds the largest array." ]
        (fun () -> Scratch.Get(Scratch.Cols, int64 Array.MaxLength) |> ignore) |> ignore

[<Fact>]
let ``a pooled loop runs on the caller and a named background worker at once, and returns only when every index has finished`` () =
    let caller = Environment.CurrentManagedThreadId
    let started = [| new ManualResetEventSlim(false); new ManualResetEventSlim(false) |]
    let finished = Array.zeroCreate<bool> 2
    let workers = Collections.Concurrent.ConcurrentBag<string * bool>()
    let ran =
        WorkerPool.TryRun(2, 1, fun i ->
            // Each index waits for the other to start: both must run at the same time, one of them on a worker.
            started[i].Set()
            let together = started[1 - i].Wait(TimeSpan.FromSeconds 20.0)
            if Environment.CurrentManagedThreadId <> caller then
                workers.Add((nonNull Thread.CurrentThread.Name, Thread.CurrentThread.IsBackground))
                Thread.Sleep 100   // the caller must wait for this index, not return when its own is done
            if not together then invalidOp $"index {i} ran alone"
            Volatile.Write(&finished[i], true))
    Assert.True(ran)
    Assert.Equal<bool[]>([| true; true |], finished)
    let name, background = Assert.Single(workers)
    Assert.True(background, "pool workers are background threads (they must not keep a process alive)")
    Assert.Matches("^VqVae worker [1-9][0-9]*$", name)

[<Fact>]
let ``an ISA level outside the enumeration is refused by name, unsupported, and has no name`` () =
    let bad = enum<IsaLevel> 9
    let saved = CpuIsa.Level
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> CpuIsa.Level <- bad)
    Assert.Equal("value", e.ParamName)
    Assert.StartsWith("Not an ISA level.", e.Message)
    Assert.Equal(saved, CpuIsa.Level)
    Assert.False(CpuIsa.Supports bad)
    let n = Assert.Throws<ArgumentOutOfRangeException>(fun () -> CpuIsa.Name bad |> ignore)
    Assert.Equal("isa", n.ParamName)
    Assert.StartsWith("Not an ISA level.", n.Message)
