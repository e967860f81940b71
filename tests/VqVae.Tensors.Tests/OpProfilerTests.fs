/// The opt-in per-op profiler: what it books and under which name. It is process-wide and not
/// thread-safe (one nesting depth for all threads), so its tests run alone.
namespace VqVae.Tensors.Tests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Diagnostics

[<CollectionDefinition("OpProfiler", DisableParallelization = true)>]
type OpProfilerCollection() = class end

[<Collection("OpProfiler")>]
module OpProfilerTests =

    [<Fact>]
    let ``an embedding is booked once under embedGrid, the gather, reshape and permute inside it counted there`` () =
        let table = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 3, 2)
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try table.EmbedGrid([| 0; 2; 1; 1 |], 1, 2, 2) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> List.ofSeq
        OpProfiler.Reset()
        Assert.Equal<(string * int64) list>([ ("fwd embedGrid", 1L) ], rows)

    [<Fact>]
    let ``a backward pass books each rule under its op's name and every adjoint sum under accumulate`` () =
        let x = Tensor.FromArray([| 1f; -2f; 3f |], 3)
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        // x·x + x: the leaf x gets three adjoints (two from mul, one from add), so two sums.
        try Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun t -> (t * t + t).Sum()), x) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> Map.ofSeq
        OpProfiler.Reset()
        Assert.Equal<(string * int64) list>(
            [ ("bwd accumulate", 2L); ("bwd add", 1L); ("bwd mul", 1L); ("bwd sum", 1L); ("fwd add", 1L); ("fwd mul", 1L); ("fwd sum", 1L) ],
            rows |> Map.toList |> List.filter (fun (n, _) -> n.StartsWith "bwd" || n.StartsWith "fwd"))

    /// The rows one differentiated op leaves in a profile (its forward and its backward rule, with the sum that makes the loss scalar).
    let private profileOf (f: Tensor -> Tensor) (x: Tensor) =
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun t -> (f t).Sum()), x) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name) |> Seq.sort |> List.ofSeq
        OpProfiler.Reset()
        rows

    [<Fact>]
    let ``each elementwise op is booked under its own name, forward and backward`` () =
        let x = Tensor.FromArray([| 0.5f; 1.5f; 2f |], 3)
        let ops : (string * (Tensor -> Tensor)) list =
            [ "pow", (fun t -> Tensor.Pow(t, 3f)); "pow", (fun t -> Tensor.Pow(t, 2f))
              "add", (fun t -> t + 1f); "add", (fun t -> 1f + t); "sub", (fun t -> t - 1f); "rsub", (fun t -> 1f - t)
              "mul", (fun t -> t * 2f); "mul", (fun t -> 2f * t); "div", (fun t -> t / 2f); "rdiv", (fun t -> 2f / t)
              "neg", (fun t -> -t); "exp", exp; "log", log; "sqrt", sqrt; "abs", abs; "tanh", tanh
              "sigmoid", (fun t -> Tensor.Sigmoid t); "relu", (fun t -> Tensor.Relu t); "square", (fun t -> t.Square())
              "clamp", (fun t -> t.Clamp(0f, 1f)) ]
        for name, f in ops do
            Assert.Equal<string list>(List.sort [ "bwd " + name; "bwd sum"; "fwd " + name; "fwd sum" ], profileOf f x)

    [<Fact>]
    let ``a convolution's profile has a part for each gradient it computes, none for an untracked input`` () =
        let x = Tensor.FromArray(Array.init 16 float32, 1, 1, 4, 4)
        let w = Tensor.FromArray(Array.init 18 (fun i -> float32 i * 0.1f), 2, 1, 3, 3)
        let b = Tensor.FromArray([| 0.5f; -0.5f |], 2)
        let parts (rows: string list) =
            rows |> List.filter (fun r -> r.StartsWith OpProfiler.PartPrefix) |> List.map (fun r -> let w = r.Split ' ' in w[w.Length - 2] + " " + w[w.Length - 1]) |> List.sort
        let profile (f: Tensor[] -> Tensor) (xs: Tensor[]) =
            OpProfiler.Reset()
            OpProfiler.Enabled <- true
            try Grad.ValueAndGrad(System.Func<Tensor[], Tensor>(fun ts -> (f ts).Sum()), xs) |> ignore
            finally OpProfiler.Enabled <- false
            let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name) |> Seq.sort |> List.ofSeq
            OpProfiler.Reset()
            rows
        // the input is data (untracked): only the weight's and the bias's gradients are computed
        Assert.Equal<string list>([ "bias grad"; "weight grad" ], parts (profile (fun ts -> Tensor.Conv2d(x, ts[0], ts[1])) [| w; b |]))
        Assert.Equal<string list>([ "bias grad"; "input grad"; "weight grad" ], parts (profile (fun ts -> Tensor.Conv2d(ts[0], ts[1], ts[2])) [| x; w; b |]))

    [<Fact>]
    let ``shape and row ops are booked under their own names, forward and backward`` () =
        let x = Tensor.FromArray(Array.init 6 float32, 2, 3)
        let ops : (string * (Tensor -> Tensor)) list =
            [ "reshape", (fun t -> t.Reshape(3, 2)); "expand", (fun t -> t.Reshape(1, 6).Expand(2, 6))
              "permute", (fun t -> t.Permute(1, 0)); "narrow", (fun t -> t.Narrow(1, 1, 2))
              "cat", (fun t -> Tensor.Cat([| t; t |])); "gatherRows", (fun t -> t.GatherRows([| 1; 0; 1 |]))
              "scatterAddRows", (fun t -> t.ScatterAddRows([| 2; 0 |], 3)) ]
        for name, f in ops do
            let expected =
                match name with
                | "expand" -> [ "bwd expand"; "bwd reshape"; "bwd sum"; "fwd expand"; "fwd reshape"; "fwd sum" ]
                | "cat" -> [ "bwd accumulate"; "bwd cat"; "bwd sum"; "fwd cat"; "fwd sum" ]   // t is both parts
                | _ -> List.sort [ "bwd " + name; "bwd sum"; "fwd " + name; "fwd sum" ]
            Assert.Equal<string list>(expected, profileOf f x)

    [<Fact>]
    let ``row searches and a masked convolution are booked once under their own names`` () =
        let rows (f: unit -> unit) =
            OpProfiler.Reset()
            OpProfiler.Enabled <- true
            try f ()
            finally OpProfiler.Enabled <- false
            let r = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> List.ofSeq
            OpProfiler.Reset()
            r
        let t = Tensor.FromArray([| 3f; 1f; 2f; 0f |], 2, 2)
        Assert.Equal<(string * int64) list>([ ("fwd argMinRows", 1L) ], rows (fun () -> t.ArgMinRows() |> ignore))
        Assert.Equal<(string * int64) list>([ ("fwd nearestRows", 1L) ], rows (fun () -> t.NearestRows(t) |> ignore))
        let x = Tensor.Ones(1, 1, 3, 3)
        let w = Tensor.Ones(1, 1, 3, 3)
        Assert.Equal<(string * int64) list>([ ("fwd maskedConv2d", 1L) ], rows (fun () -> Tensor.MaskedConv2d(x, w, Tensor.Ones(3, 3), padH = 1, padW = 1) |> ignore))

    [<Fact>]
    let ``convolutions are booked under their sizes, with each gradient part beneath its backward rule`` () =
        let x = Tensor.Uniform(Rng.Seed 1L, -1f, 1f, 1, 3, 5, 5)
        let w = Tensor.Uniform(Rng.Seed 2L, -1f, 1f, 2, 3, 3, 3)
        let wt = Tensor.Uniform(Rng.Seed 3L, -1f, 1f, 3, 2, 4, 4)
        let b = Tensor.Uniform(Rng.Seed 4L, -1f, 1f, 2)
        let names (loss: Tensor[] -> Tensor) =
            OpProfiler.Reset()
            OpProfiler.Enabled <- true
            try Grad.ValueAndGrad(System.Func<Tensor[], Tensor>(loss), [| x; b |]) |> ignore
            finally OpProfiler.Enabled <- false
            let r = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name) |> Set.ofSeq
            OpProfiler.Reset()
            r
        let part = OpProfiler.PartPrefix
        // 3→2 channels, 3×3 kernel, stride 1, 5×5 → 3×3; the weight is a constant here, so it has no part.
        let conv = names (fun t -> Tensor.Conv2d(t[0], w, t[1]).Sum())
        for n in [ "fwd conv2d 3→2 k3s1 5×5→3×3"; "bwd conv2d 3→2 k3s1 5×5→3×3"; part + "conv2d 3→2 k3s1 5×5→3×3 input grad"; part + "conv2d 3→2 k3s1 5×5→3×3 bias grad" ] do
            Assert.Contains(n, conv)
        Assert.DoesNotContain(part + "conv2d 3→2 k3s1 5×5→3×3 weight grad", conv)
        // Transposed, in its own terms: 3→2 channels, 4×4 kernel, stride 2, 5×5 → 10×10 (padding 1).
        let up = names (fun t -> Tensor.ConvTranspose2d(t[0], wt, t[1], stride = 2, padding = 1).Sum())
        for n in [ "fwd convTranspose2d 3→2 k4s2 5×5→10×10"; "bwd convTranspose2d 3→2 k4s2 5×5→10×10"; part + "convTranspose2d 3→2 k4s2 5×5→10×10 input grad"; part + "convTranspose2d 3→2 k4s2 5×5→10×10 bias grad" ] do
            Assert.Contains(n, up)
        // With the profiler off the ops keep their plain names (nothing is booked).
        Assert.Empty(OpProfiler.Snapshot())

    [<Fact>]
    let ``matrix products and both convolution weights' gradient parts are booked; with the profiler off ops keep their plain names`` () =
        let part = OpProfiler.PartPrefix
        let a = Tensor.Uniform(Rng.Seed 1L, -1f, 1f, 2, 3)
        let b = Tensor.Uniform(Rng.Seed 2L, -1f, 1f, 3, 4)
        Assert.Equal<string list>([ "bwd matmul"; "bwd sum"; "fwd matmul"; "fwd sum" ], profileOf (fun t -> Tensor.MatMul(t, b)) a)
        let x = Tensor.Uniform(Rng.Seed 3L, -1f, 1f, 1, 3, 5, 5)
        let conv = profileOf (fun w -> Tensor.Conv2d(x, w)) (Tensor.Uniform(Rng.Seed 4L, -1f, 1f, 2, 3, 3, 3))
        Assert.Contains(part + "conv2d 3→2 k3s1 5×5→3×3 weight grad", conv)
        let up = profileOf (fun w -> Tensor.ConvTranspose2d(x, w, stride = 2, padding = 1)) (Tensor.Uniform(Rng.Seed 5L, -1f, 1f, 3, 2, 4, 4))
        Assert.Contains(part + "convTranspose2d 3→2 k4s2 5×5→10×10 weight grad", up)
        // Off, the sizes are not even formatted: the taped ops carry the plain names.
        let tracked (t: Tensor) (f: Tensor -> Tensor) =
            let mutable op = ""
            Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun t -> let y = f t in op <- (nonNull y.Node).Op; y.Sum()), t) |> ignore
            op
        Assert.Equal("conv2d", tracked x (fun t -> Tensor.Conv2d(t, Tensor.Ones(2, 3, 3, 3))))
        Assert.Equal("convTranspose2d", tracked x (fun t -> Tensor.ConvTranspose2d(t, Tensor.Ones(3, 2, 4, 4), stride = 2, padding = 1)))

    /// Spins for at least `ms` milliseconds of wall time, using the CPU all along.
    let private busy (ms: float) =
        let sw = System.Diagnostics.Stopwatch.StartNew()
        let mutable x = 0.0
        while sw.Elapsed.TotalMilliseconds < ms do x <- x + sqrt (float sw.ElapsedTicks)
        x

    /// What a profile measures (wide bounds: a shared machine can only make a measurement longer, never shorter
    /// than the work): wall and CPU milliseconds, bytes allocated, calls summed over repeats, most expensive first.
    [<Fact>]
    let ``a phase's wall and CPU milliseconds, its allocations and its calls are summed, most expensive first`` () =
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try
            for _ in 1 .. 2 do
                use _ = OpProfiler.TimePhase "slow"
                System.Threading.Thread.Sleep 60
            use _ = OpProfiler.TimePhase "busy"
            busy 40.0 |> ignore
            GC.KeepAlive(Array.zeroCreate<byte> 1_000_000)
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot()
        OpProfiler.Reset()
        Assert.Equal<string list>([ "slow"; "busy" ], [ for r in rows -> r.Name ])
        let slow, spin = rows[0], rows[1]
        Assert.Equal((2L, 1L), (slow.Calls, spin.Calls))
        Assert.InRange(slow.WallMs, 115.0, 60_000.0)
        Assert.InRange(spin.WallMs, 39.0, 60_000.0)
        Assert.InRange(spin.AllocatedBytes, 1_000_000L, 100_000_000L)
        // CPU time: the spin used the CPU for its whole wall time (less only if the machine took the core away), the sleeps hardly.
        if OperatingSystem.IsLinux() then
            Assert.InRange(spin.CpuMs, 1.0, 60_000.0)
            Assert.InRange(slow.CpuMs, 0.0, slow.WallMs)

    [<Fact>]
    let ``the process CPU clock counts nanoseconds forward on Linux, and is 0 elsewhere`` () =
        let t0 = OpProfiler.CpuNow()
        busy 30.0 |> ignore
        let t1 = OpProfiler.CpuNow()
        if OperatingSystem.IsLinux() then
            Assert.True(t0 > 0L, $"CpuNow() = {t0}")
            // 30 ms of spinning is at least a millisecond of CPU (nanoseconds, not seconds) and under a minute.
            Assert.InRange(t1 - t0, 1_000_000L, 60_000_000_000L)
            // The same clock the process's own CPU time reads (to its tick), whole seconds included (so spin past 1.5 s first).
            let cpu () = Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds
            while cpu () < 1500.0 do busy 20.0 |> ignore
            let total = cpu ()
            let mine = float (OpProfiler.CpuNow()) / 1e6
            Assert.InRange(mine, total - 250.0, total + 250.0)
        else
            Assert.Equal((0L, 0L), (t0, t1))

    [<Fact>]
    let ``off, nothing is booked; a part leaves the nesting as it found it`` () =
        OpProfiler.Reset()
        OpProfiler.Enabled <- false
        (use _ = OpProfiler.Time "a" in ())
        (use _ = OpProfiler.TimeBackward "b" in ())
        (use _ = OpProfiler.TimePhase "c" in ())
        (use _ = OpProfiler.TimePart "d" in ())
        Assert.Empty(OpProfiler.Snapshot())
        OpProfiler.Enabled <- true
        try
            (use _ = OpProfiler.Time "outer"
             (use _ = OpProfiler.TimePart "piece" in ()))
            // After the part the next op is outermost again, and an op inside it is still counted there.
            use _ = OpProfiler.TimeBackward "next"
            (use _ = OpProfiler.Time "inner" in ())
        finally OpProfiler.Enabled <- false
        let names = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name) |> Seq.sort |> List.ofSeq
        OpProfiler.Reset()
        Assert.Equal<string list>([ OpProfiler.PartPrefix + "piece"; "bwd next"; "fwd outer" ] |> List.sort, names)
