/// The fused kernels (ReLU and sigmoid backward, transposed conv with bias, channel sums, Adam)
/// against the unfused compositions they replace — bit for bit — with finite-difference checks
/// through them, and TensorArena: same bits with and without it, nothing recycled leaks. Shares the
/// "Threading.Threads" collection: it sets the global thread count (before, it ran beside the runtime tests that
/// read the count back).
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.FusedAndArenaTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.ThreadCount

let private bits (t: Tensor) = t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

/// Values with exact zeros (both signs), negatives and positives, large enough to be split over threads.
let private mixed (seed: int64) (n: int) =
    let u = Tensor.Uniform(Rng.Seed(seed), -1f, 1f, n).ToArray()
    u |> Array.mapi (fun i v -> if i % 7 = 0 then 0f elif i % 11 = 0 then -0f else v)

[<Fact>]
let ``relu backward equals dy times step x bit for bit`` () =
    // One element short of a chunk (65,536): one chunk, however its count is rounded; then several chunks.
    for n in [ 65_535; 200_003 ] do
        let x = Tensor.FromArray(mixed 1L n, n)
        let dy = Tensor.FromArray(mixed 2L n, n)
        let struct (_, g) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (Tensor.Relu(ts[0]) * dy).Sum()), [| x |])
        let xs, ds = x.ToArray(), dy.ToArray()
        let expected = Array.init n (fun i -> ds[i] * (if xs[i] > 0f then 1f else 0f)) |> Array.map BitConverter.SingleToInt32Bits
        Assert.Equal<int[]>(expected, bits (nonNull g[0]))
        let fused = (x.Primal :?> CpuRawTensor)
        let viaRaw = Tensor.OfRaw(dy.Primal.ReluBackward(fused))
        Assert.Equal<int[]>(expected, bits viaRaw)

[<Fact>]
let ``sigmoid backward equals dy times y times one minus y bit for bit`` () =
    let n = 150_001
    let x = Tensor.FromArray(mixed 3L n, n) * 4f
    let dy = Tensor.FromArray(mixed 4L n, n)
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (Tensor.Sigmoid(ts[0]) * dy).Sum()), [| x |])
    let y = Tensor.Sigmoid(x).ToArray()
    let ds = dy.ToArray()
    let expected = Array.init n (fun i -> ds[i] * y[i] * (1f - y[i])) |> Array.map BitConverter.SingleToInt32Bits
    Assert.Equal<int[]>(expected, bits (nonNull g[0]))

[<Fact>]
let ``finite differences through relu and sigmoid with the fused backward`` () =
    let x = Tensor.Uniform(Rng.Seed(5L), -2f, 2f, 3, 4, 5)
    // keep away from the kink at 0 so central differences are meaningful
    let x = Tensor.FromArray(x.ToArray() |> Array.map (fun v -> if abs v < 0.05f then v + 0.2f else v), 3, 4, 5)
    FiniteDiff.check1 (fun t -> Tensor.Sigmoid(Tensor.Relu(t) * 1.5f - 0.5f)) x

[<Fact>]
let ``transposed conv with bias equals conv without bias plus broadcast bias bit for bit`` () =
    let x = Tensor.Uniform(Rng.Seed(6L), -1f, 1f, 5, 16, 7, 7)
    let w = Tensor.Uniform(Rng.Seed(7L), -0.2f, 0.2f, 16, 8, 4, 4)
    let b = Tensor.Uniform(Rng.Seed(8L), -1f, 1f, 8)
    let fused = Tensor.ConvTranspose2d(x, w, b, stride = 2, padding = 1)
    let unfused = Tensor.ConvTranspose2d(x, w, null, stride = 2, padding = 1) + b.Reshape(1, 8, 1, 1)
    Assert.Equal<int[]>(bits unfused, bits fused)

[<Fact>]
let ``channel sums (bias gradients) match a double reference and do not depend on threads`` () =
    let x = Tensor.Uniform(Rng.Seed(9L), -1f, 1f, 64, 128, 14, 14)
    let run () = bits (x.Sum([| 0; 2; 3 |]))
    let one = withThreads 1 run
    let two = withThreads 2 run
    let four = withThreads 4 run
    Assert.Equal<int[]>(one, two)
    Assert.Equal<int[]>(one, four)
    let xs = x.ToArray()
    let s = x.Sum([| 0; 2; 3 |]).ToArray()
    for c in 0 .. 127 do
        let mutable acc = 0.0
        for n in 0 .. 63 do
            for p in 0 .. 195 do acc <- acc + float xs[(n * 128 + c) * 196 + p]
        Assert.True(abs (float s[c] - acc) <= 1e-3 * (1.0 + abs acc), $"channel {c}: {s[c]} vs {acc}")
    // keepDim and the finite-difference check of the fast path's adjoint
    Assert.Equal<int[]>([| 1; 128; 1; 1 |], x.Sum([| 0; 2; 3 |], true).Shape)
    FiniteDiff.check1 (fun t -> t.Sum([| 0; 2; 3 |]).Square()) (Tensor.Uniform(Rng.Seed(10L), -1f, 1f, 2, 3, 4, 5))

let private adamByOps (p: Tensor) (g: Tensor) (m: Tensor) (v: Tensor) (t: int) (lr: float32) (b1: float32) (b2: float32) (eps: float32) (wd: float32) =
    let g = if wd <> 0f then g + p * wd else g
    let m2 = m * b1 + g * (1f - b1)
    let v2 = v * b2 + g.Square() * (1f - b2)
    let bc1 = float32 (1.0 - Math.Pow(float b1, float t))
    let sqrtBc2 = float32 (Math.Sqrt(1.0 - Math.Pow(float b2, float t)))
    let denom = v2.Sqrt() / sqrtBc2 + eps
    (p - m2 / denom * (lr / bc1), m2, v2)

[<Theory>]
[<InlineData(0.0f)>]
[<InlineData(0.01f)>]
let ``fused Adam equals the rule written with tensor ops bit for bit`` (wd: float32) =
    let n = 300_007
    let p = Tensor.Uniform(Rng.Seed(11L), -1f, 1f, n)
    let g = Tensor.Uniform(Rng.Seed(12L), -1f, 1f, n)
    let m = Tensor.Uniform(Rng.Seed(13L), -0.1f, 0.1f, n)
    let v = Tensor.Uniform(Rng.Seed(14L), 0f, 0.01f, n)
    for t in [ 1; 2; 17 ] do
        let struct (p1, m1, v1) = Tensor.AdamUpdate(p, g, m, v, t, 1e-3f, 0.9f, 0.999f, 1e-8f, wd)
        let (p2, m2, v2) = adamByOps p g m v t 1e-3f 0.9f 0.999f 1e-8f wd
        Assert.Equal<int[]>(bits p2, bits p1)
        Assert.Equal<int[]>(bits m2, bits m1)
        Assert.Equal<int[]>(bits v2, bits v1)
    let run () = let struct (p1, _, _) = Tensor.AdamUpdate(p, g, m, v, 3, 1e-3f, weightDecay = wd) in bits p1
    Assert.Equal<int[]>(withThreads 1 run, withThreads 2 run)

[<Fact>]
let ``fused Adam checks shapes and step`` () =
    let p = Tensor.Zeros(3, 4)
    Assert.Throws<ArgumentException>(fun () -> Tensor.AdamUpdate(p, Tensor.Zeros(4, 3), p, p, 1, 1e-3f) |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Tensor.AdamUpdate(p, p, p, p, 0, 1e-3f) |> ignore) |> ignore

// ---------------------------------------------------------------------------------------------- arena

/// A small conv net (conv, relu, convT with bias, sigmoid, mse) and its gradients, as bits.
let private convNet () =
    let rng = Rng.Seed(21L)
    let ps =
        [| Tensor.Uniform(rng.Fold(0L), -0.25f, 0.25f, 16, 1, 4, 4); Tensor.Uniform(rng.Fold(1L), -0.1f, 0.1f, 16)
           Tensor.Uniform(rng.Fold(2L), -0.1f, 0.1f, 16, 4, 4, 4); Tensor.Uniform(rng.Fold(3L), -0.1f, 0.1f, 4) |]
    let x = Tensor.Uniform(Rng.Seed(22L), 0f, 1f, 6, 1, 28, 28)
    let target = Tensor.Uniform(Rng.Seed(23L), 0f, 1f, 6, 4, 28, 28)
    let loss (ts: Tensor[]) =
        let h = Tensor.Relu(Tensor.Conv2d(x, ts[0], ts[1], stride = 2, padding = 1))
        let y = Tensor.Sigmoid(Tensor.ConvTranspose2d(h, ts[2], ts[3], stride = 2, padding = 1))
        (y - target).Square().Mean()
    ps, loss

let private valueAndGradBits () =
    let ps, loss = convNet ()
    let struct (v, gs) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(loss), ps)
    Array.append (bits v) (gs |> Array.collect (fun g -> bits (nonNull g)))

[<Fact>]
let ``values and gradients are bitwise the same inside an arena, twice in a row`` () =
    let plain = valueAndGradBits ()
    let inArena () =
        use _ = TensorArena.Begin()
        valueAndGradBits ()
    let a1 = inArena ()
    let a2 = inArena () // now from recycled (non-zeroed) storage
    Assert.Equal<int[]>(plain, a1)
    Assert.Equal<int[]>(plain, a2)

[<Fact>]
let ``a tensor made in an arena cannot be read after the scope ends, even once its storage is reused`` () =
    let x = Tensor.Uniform(Rng.Seed(30L), -1f, 1f, 64, 64)
    let stale =
        use _ = TensorArena.Begin()
        let y = x * 2f
        Assert.True(TensorArena.IsArenaStorage y)
        y
    // reuse the same exact-size storage in a new scope
    let fresh =
        use _ = TensorArena.Begin()
        let z = x + 1f
        TensorArena.Keep z
    Assert.Throws<ObjectDisposedException>(fun () -> stale.ToArray() |> ignore) |> ignore
    Assert.Throws<ObjectDisposedException>(fun () -> stale.Reshape(4096).Sum().ToScalar() |> ignore) |> ignore
    Assert.False(TensorArena.IsArenaStorage fresh)
    Assert.Equal<int[]>(bits (x + 1f), bits fresh)

[<Fact>]
let ``Keep copies arena storage and passes ordinary storage through`` () =
    let x = Tensor.Uniform(Rng.Seed(31L), -1f, 1f, 50, 50)
    use scope = TensorArena.Begin()
    let y = Tensor.Relu(x)
    let kept = TensorArena.Keep y
    Assert.Same(x, TensorArena.Keep x)
    Assert.False(TensorArena.IsArenaStorage kept)
    Assert.Equal<int[]>(bits y, bits kept)
    scope.Dispose()
    Assert.True(scope.IsDisposed)
    Assert.Equal<int[]>(bits (Tensor.Relu(x)), bits kept)

[<Fact>]
let ``Adam's results are ordinary storage inside an arena`` () =
    let p = Tensor.Uniform(Rng.Seed(32L), -1f, 1f, 40, 40)
    let struct (p2, m2, v2) =
        use _ = TensorArena.Begin()
        let g = p * 0.5f
        Assert.True(TensorArena.IsArenaStorage g)
        Tensor.AdamUpdate(p, g, Tensor.Zeros(40, 40), Tensor.Zeros(40, 40), 1, 1e-3f)
    for t in [ p2; m2; v2 ] do
        Assert.False(TensorArena.IsArenaStorage t)
        t.ToArray() |> ignore

[<Fact>]
let ``nested arenas recycle innermost first and must end in order`` () =
    let x = Tensor.Uniform(Rng.Seed(33L), -1f, 1f, 40, 40)
    let outer = TensorArena.Begin()
    let a = x * 3f
    let inner = TensorArena.Begin()
    let b = a + 1f
    Assert.Throws<InvalidOperationException>(fun () -> outer.Dispose()) |> ignore
    inner.Dispose()
    Assert.Throws<ObjectDisposedException>(fun () -> b.ToArray() |> ignore) |> ignore
    Assert.Equal<int[]>(bits (x * 3f), bits a)
    outer.Dispose()
    Assert.False(TensorArena.IsActive)
    Assert.Throws<ObjectDisposedException>(fun () -> a.ToArray() |> ignore) |> ignore

[<Fact>]
let ``one thread and two threads give identical bits inside an arena`` () =
    let run () =
        use _ = TensorArena.Begin()
        valueAndGradBits ()
    Assert.Equal<int[]>(withThreads 1 run, withThreads 2 run)

// ------------------------------------------------------------------ few-tap weight gradient path

[<Theory>]
[<InlineData(1, 128, 4, 2, 1, 28)>] // enc1 of the reference model: 1×4×4 = 16 taps, 128 outputs
[<InlineData(1, 64, 3, 1, 1, 9)>]
[<InlineData(2, 40, 2, 2, 0, 10)>]
let ``weight gradient with few kernel taps matches the reference and is thread-count independent`` (cin, cout, k, s, p, h) =
    let ho = ConvGeometry.OutSize(h, k, s, p, 1)
    let g = KernelsReference.geometry 5 cin h h cout k k s s p p 1 1
    let x = KernelsReference.randomArray 41 (5 * cin * h * h)
    let dy = KernelsReference.randomArray 42 (5 * cout * ho * ho)
    let run () =
        let dw = Array.create (cout * cin * k * k) nanf
        ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
        dw
    let dw1 = withThreads 1 run
    let dw2 = withThreads 2 run
    Assert.Equal<int[]>(dw1 |> Array.map BitConverter.SingleToInt32Bits, dw2 |> Array.map BitConverter.SingleToInt32Bits)
    let e, sc = KernelsReference.convBackwardWeightRef g x dy
    KernelsReference.assertClose "few-tap BackwardWeight" 1e-5 e sc dw1

[<Fact>]
let ``large elementwise ops split over threads give the same bits as one thread`` () =
    let n = 3 * 65536 + 123
    let a = Tensor.FromArray(mixed 50L n, n)
    let b = Tensor.FromArray(mixed 51L n, n) + 1.5f
    let run () =
        [ Tensor.Relu(a); -a; a.Abs(); b.Abs().Sqrt(); a.Square(); a + b; a - b; a * b; a / b; a * 0.3f; 2f - a; 1f / b ]
        |> List.map bits
    let one = withThreads 1 run
    Assert.Equal<int[] list>(one, withThreads 2 run)
    Assert.Equal<int[] list>(one, withThreads 3 run)
    // and the same as the serial primitives element by element
    let xs, ys = a.ToArray(), b.ToArray()
    Assert.Equal<int[]>(Array.map2 (fun (x: float32) y -> BitConverter.SingleToInt32Bits(x * y)) xs ys, one[7])
    Assert.Equal<int[]>(xs |> Array.map (fun x -> BitConverter.SingleToInt32Bits(max x 0f)), one[0])
