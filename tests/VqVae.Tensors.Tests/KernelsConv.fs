/// Conv kernels against naive reference loops, the adjoint identities and determinism.
// Shares the global Threading.Threads setting with DeterminismTests: never run them side by side.
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.KernelsConv

open System
open Xunit
open FsCheck.FSharp
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.ThreadCount
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

/// The same geometry with another input size (output size kept).
let withInput (g: ConvGeometry) h w =
    ConvGeometry(g.N, g.Cin, h, w, g.Cout, g.Kh, g.Kw, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW, g.Ho, g.Wo)

/// Random geometry: stride 1–3, padding 0–2, dilation 1–2, odd sizes, Cin/Cout 1–5, and
/// sometimes an input larger than the forward formula needs (a transposed conv's output padding).
let geometryGen =
    gen {
        let! n = Gen.choose (1, 3)
        let! cin = Gen.choose (1, 5)
        let! cout = Gen.choose (1, 5)
        let! kh = Gen.choose (1, 4)
        let! kw = Gen.choose (1, 4)
        let! sh = Gen.choose (1, 3)
        let! sw = Gen.choose (1, 3)
        let! ph = Gen.choose (0, 2)
        let! pw = Gen.choose (0, 2)
        let! dh = Gen.choose (1, 2)
        let! dw = Gen.choose (1, 2)
        let! eh = Gen.choose (0, 9)
        let! ew = Gen.choose (0, 9)
        let h = max 1 (dh * (kh - 1) + 1 - 2 * ph) + eh
        let w = max 1 (dw * (kw - 1) + 1 - 2 * pw) + ew
        let g = geometry n cin h w cout kh kw sh sw ph pw dh dw
        let! oph = Gen.choose (0, sh - 1)
        let! opw = Gen.choose (0, sw - 1)
        // Output padding: the input grows, the output size stays (as a transposed conv calls us).
        return withInput g (g.H + oph) (g.W + opw)
    }

/// A geometry and the seed of its random operands.
type ConvKernelCase = { Geometry: ConvGeometry; Seed: int }

let caseGen = gen {
    let! g = geometryGen
    let! seed = Gen.choose (0, 1_000_000)
    return { Geometry = g; Seed = seed } }

let sizes (g: ConvGeometry) = g.N * g.Cin * g.H * g.W, g.Cout * g.Cin * g.Kh * g.Kw, g.N * g.Cout * g.Ho * g.Wo

[<PropertyTest(200)>]
let ``Forward matches the reference, with and without bias`` (c: ConvKernelCase) =
    let g, seed = c.Geometry, c.Seed
    let xs, ws, ys = sizes g
    let x, w = randomArray seed xs, randomArray (seed + 1) ws
    let bias = if seed % 2 = 0 then randomArray (seed + 2) g.Cout else [||]
    let y = Array.create ys nanf
    ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan bias, Span y)
    let e, s = convForwardRef g x w bias
    assertClose (sprintf "Forward %A" g) 1e-5 e s y
    true

[<PropertyTest(200)>]
let ``BackwardInput matches the reference and honours H and W as given`` (c: ConvKernelCase) =
    let g, seed = c.Geometry, c.Seed
    let xs, ws, ys = sizes g
    let dy, w = randomArray seed ys, randomArray (seed + 1) ws
    let dx = Array.create xs nanf
    ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
    let e, s = convBackwardInputRef g dy w
    assertClose (sprintf "BackwardInput %A" g) 1e-5 e s dx
    true

[<PropertyTest(200)>]
let ``BackwardWeight matches the reference`` (c: ConvKernelCase) =
    let g, seed = c.Geometry, c.Seed
    let xs, ws, ys = sizes g
    let x, dy = randomArray seed xs, randomArray (seed + 1) ys
    let dw = Array.create ws nanf
    ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
    let e, s = convBackwardWeightRef g x dy
    assertClose (sprintf "BackwardWeight %A" g) 1e-5 e s dw
    true

let dot (a: float32[]) (b: float32[]) = Array.fold2 (fun s (x: float32) (y: float32) -> s + float x * float y) 0.0 a b

[<PropertyTest(200)>]
let ``adjoint identity: <Forward x, dy> = <x, BackwardInput dy> = <w, BackwardWeight x dy>`` (c: ConvKernelCase) =
    let g, seed = c.Geometry, c.Seed
    let xs, ws, ys = sizes g
    let x, w, dy = randomArray seed xs, randomArray (seed + 1) ws, randomArray (seed + 2) ys
    let y, dx, dw = Array.zeroCreate ys, Array.zeroCreate xs, Array.zeroCreate ws
    ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span y)
    ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
    ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
    // Error scale: Σ over all terms of |x·w·dy|.
    let mutable scale = 0.0
    convTerms g (fun xi wi yi -> scale <- scale + abs (float x.[xi] * float w.[wi] * float dy.[yi]))
    let a, b, c = dot y dy, dot x dx, dot w dw
    let tol = 1e-5 * scale + 1e-30
    if abs (a - b) > tol || abs (a - c) > tol then
        failwithf "%A: <Fx,dy> = %g, <x,B_in dy> = %g, <w,B_w> = %g (tol %g)" g a b c tol
    true

/// The reference model's layers at a small batch (same per-image shapes).
let modelLayers n =
    [ geometry n 1 28 28 128 4 4 2 2 1 1 1 1
      geometry n 128 14 14 128 4 4 2 2 1 1 1 1
      geometry n 128 7 7 64 3 3 1 1 1 1 1 1
      geometry n 64 7 7 128 3 3 1 1 1 1 1 1 ]

[<Fact>]
let ``conv kernels give identical bits for 1 and 2 threads`` () =
    for g in modelLayers 11 do
        let xs, ws, ys = sizes g
        let x, w, dy, bias = randomArray 1 xs, randomArray 2 ws, randomArray 3 ys, randomArray 4 g.Cout
        let run t =
            withThreads t (fun () ->
                let y, dx, dw = Array.zeroCreate ys, Array.zeroCreate xs, Array.zeroCreate ws
                ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan bias, Span y)
                ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
                ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
                y, dx, dw)
        let (y1, dx1, dw1), (y2, dx2, dw2) = run 1, run 2
        Assert.True(sameBits y1 y2, sprintf "Forward %A" g)
        Assert.True(sameBits dx1 dx2, sprintf "BackwardInput %A" g)
        Assert.True(sameBits dw1 dw2, sprintf "BackwardWeight %A" g)
        let _, _, dw3 = run 3
        Assert.True(sameBits dw1 dw3, sprintf "BackwardWeight 3 threads %A" g)

// The whole-row lowering and scatter paths against the plain loops, at every ISA level: KernelsIsa.

[<Fact>]
let ``conv kernels reject spans too short and bad geometry, naming the argument`` () =
    let g = geometry 2 3 5 5 4 3 3 1 1 1 1 1 1
    let xs, ws, ys = sizes g
    let x, w, y = Array.zeroCreate xs, Array.zeroCreate ws, Array.zeroCreate ys
    let name (n: string) (f: unit -> unit) = refusedNaming n [] f |> ignore
    name "x" (fun () -> ConvKernels.Forward(g, ReadOnlySpan x.[1..], ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span y))
    name "w" (fun () -> ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w.[1..], ReadOnlySpan<float32>.Empty, Span y))
    name "bias" (fun () -> ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan [| 1.0f |], Span y))
    name "y" (fun () -> ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span y.[1..]))
    name "dx" (fun () -> ConvKernels.BackwardInput(g, ReadOnlySpan y, ReadOnlySpan w, Span x.[1..]))
    name "dy" (fun () -> ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan y.[1..], Span w))
    name "dw" (fun () -> ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan y, Span w.[1..]))
    name "g.StrideH" (fun () -> ConvKernels.Forward(ConvGeometry(2, 3, 5, 5, 4, 3, 3, 0, 1, 1, 1, 1, 1, 5, 5), ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span y))

[<Fact>]
let ``all three kernels match the reference when the batch spans several image groups`` () =
    // The last two have model-sized channel counts (64, 130) at a small batch.
    for g in [ geometry 20 2 9 9 3 3 3 1 1 1 1 1 1; geometry 9 3 16 16 5 4 4 2 2 1 1 1 1; geometry 7 1 20 20 2 3 3 1 1 0 0 2 2
               geometry 3 64 14 14 8 4 4 2 2 1 1 1 1; geometry 3 130 7 7 8 3 3 1 1 1 1 1 1 ] do
        let xs, ws, ys = sizes g
        let x, w, dy, bias = randomArray 1 xs, randomArray 2 ws, randomArray 3 ys, randomArray 4 g.Cout
        for t in [ 1; 2 ] do
            withThreads t (fun () ->
                let y, dx, dw = Array.create ys nanf, Array.create xs nanf, Array.create ws nanf
                ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan bias, Span y)
                ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
                ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
                let e, s = convForwardRef g x w bias in assertClose "Forward" 1e-5 e s y
                let e, s = convBackwardInputRef g dy w in assertClose "BackwardInput" 1e-5 e s dx
                let e, s = convBackwardWeightRef g x dy in assertClose "BackwardWeight" 1e-5 e s dw)

/// Paths of Forward and BackwardInput the random geometries miss: more output channels than one GEMM K chunk
/// (Gemm.KC: the backward input scatters the whole column matrix, not block by block); an output larger than the
/// usual one, as a caller may ask (the window hangs past the padding: the range-checked lowering and raise); a
/// kernel of more than 64 taps (its tap table on the heap). Each against the reference loops, at 1 and 2 threads.
[<Fact>]
let ``the wide, oversized-output and many-tap convolutions match the reference`` () =
    let past (g: ConvGeometry) dh dw =
        ConvGeometry(g.N, g.Cin, g.H, g.W, g.Cout, g.Kh, g.Kw, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW, g.Ho + dh, g.Wo + dw)
    let wide = geometry 2 2 5 5 (Gemm.KC + 5) 3 3 1 1 1 1 1 1
    let oversized = past (geometry 2 2 6 7 3 3 3 2 1 1 0 1 1) 2 1
    let manyTaps = geometry 1 1 12 11 2 9 9 1 1 4 4 1 1
    Assert.False(Im2Col.FitsPadded oversized)
    Assert.True(Im2Col.FitsPadded wide && Im2Col.FitsPadded manyTaps)
    for g in [ wide; oversized; past manyTaps 1 0; manyTaps ] do
        let xs, ws, ys = sizes g
        let x, w, dy = randomArray 5 xs, randomArray 6 ws, randomArray 7 ys
        for t in [ 1; 2 ] do
            withThreads t (fun () ->
                // Each result is the front of a longer array: the floats past it must keep their marker.
                let y, dx = Array.create (ys + 4) nanf, Array.create (xs + 4) nanf
                Array.fill y ys 4 7.5f
                Array.fill dx xs 4 7.5f
                ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span(y, 0, ys))
                ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span(dx, 0, xs))
                let e, s = convForwardRef g x w [||] in assertClose (sprintf "Forward %A" g) 1e-5 e s y[.. ys - 1]
                let e, s = convBackwardInputRef g dy w in assertClose (sprintf "BackwardInput %A" g) 1e-5 e s dx[.. xs - 1]
                Assert.Equal<float32[]>(Array.create 4 7.5f, y[ys ..])
                Assert.Equal<float32[]>(Array.create 4 7.5f, dx[xs ..]))

/// An output with no pixels (a caller may ask for Wo = 0): Forward has nothing to write and BackwardInput
/// overwrites the input gradient with zeros.
[<Fact>]
let ``an empty output gives an empty forward and a zero input gradient`` () =
    for g in [ ConvGeometry(2, 3, 4, 5, 2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 0); ConvGeometry(1, 2, 6, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 6) ] do
        let xs, ws, _ = sizes g
        let x, w = randomArray 1 xs, randomArray 2 ws
        for t in [ 1; 2 ] do
            withThreads t (fun () ->
                ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan<float32>.Empty, Span<float32>.Empty)
                let dx = Array.create xs nanf
                ConvKernels.BackwardInput(g, ReadOnlySpan<float32>.Empty, ReadOnlySpan w, Span dx)
                Assert.Equal<float32[]>(Array.zeroCreate xs, dx))

/// A geometry whose column matrix would pass the kernels' int index range is refused before any work, naming g.
[<Fact>]
let ``a geometry too large for the kernels' indices is refused naming g`` () =
    for g in [ ConvGeometry(0, 1 <<< 16, 1, 1, 1, 128, 128, 1, 1, 0, 0, 1, 1, 1, 1); ConvGeometry(0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1 <<< 15, 1 <<< 15) ] do
        let e = Assert.Throws<ArgumentException>(fun () ->
            ConvKernels.Forward(g, ReadOnlySpan<float32>.Empty, ReadOnlySpan<float32>.Empty, ReadOnlySpan<float32>.Empty, Span<float32>.Empty))
        Assert.Equal("g", e.ParamName)
        Assert.StartsWith(sprintf "Convolution geometry too large: %O." g, e.Message)
