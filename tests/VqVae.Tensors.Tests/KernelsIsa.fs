/// Every kernel path at every ISA level (CpuIsa): at a level this CPU supports the properties run and must
/// hold — against the references and bit for bit against the scalar level (the plain loops); a level it lacks
/// is reported as skipped by the runner (never a silent pass). Also the VQVAE_ISA setting itself.
// Sets the global ISA level (and thread count): never run side by side with the other kernel tests.
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.KernelsIsa

open System
open System.Runtime.Intrinsics
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.Properties

let private supported () = String.Join(", ", CpuIsa.All |> Seq.filter CpuIsa.Supports |> Seq.map CpuIsa.Name)
let private levelNamed (name: string) = CpuIsa.All |> Seq.find (fun l -> CpuIsa.Name l = name)

/// The level named as VQVAE_ISA spells it; skips the test (visibly) where this CPU lacks it.
let requireLevel (name: string) =
    let level = levelNamed name
    Skip.IfNot(CpuIsa.Supports level, sprintf "this CPU does not support the %s level (it has %s)" name (supported ()))
    level

/// Discovers an IsaProperty: at a level this CPU has, FsCheck.Xunit's property test case; at one it
/// lacks, xunit's own test case carrying the skip reason, which every runner reports as skipped
/// (FsCheck.Xunit's skip path sends no TestFinished, and the VSTest adapter then drops the result).
type IsaPropertyDiscoverer(sink: Xunit.Abstractions.IMessageSink) =
    let property = FsCheck.Xunit.PropertyDiscoverer(sink)
    interface Xunit.Sdk.IXunitTestCaseDiscoverer with
        member _.Discover(options, testMethod, attribute) =
            if String.IsNullOrEmpty(attribute.GetNamedArgument<string>("Skip")) then
                (property :> Xunit.Sdk.IXunitTestCaseDiscoverer).Discover(options, testMethod, attribute)
            else
                Seq.singleton (new Xunit.Sdk.XunitTestCase(sink, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), testMethod) :> Xunit.Sdk.IXunitTestCase)

/// A property at one ISA level (as VQVAE_ISA spells it). Where this CPU lacks the level the
/// attribute carries a Skip reason, so the runner reports the property as skipped (never as a pass).
[<Xunit.Sdk.XunitTestCaseDiscoverer("VqVae.Tensors.Tests.KernelsIsa+IsaPropertyDiscoverer", "VqVae.Tensors.Tests")>]
type IsaPropertyAttribute(level: string, maxTest: int) as this =
    inherit PropertyTestAttribute(maxTest)
    do if not (CpuIsa.Supports(levelNamed level)) then
           this.Skip <- sprintf "this CPU does not support the %s level (it has %s)" level (supported ())

let private bitsEqual what (expected: float32[]) (got: float32[]) =
    if expected.Length <> got.Length then failwithf "%s: %d elements, the scalar level gives %d" what got.Length expected.Length
    if not (sameBits expected got) then
        let i = Array.zip expected got |> Array.findIndex (fun (a, b) -> BitConverter.SingleToInt32Bits a <> BitConverter.SingleToInt32Bits b)
        failwithf "%s: element %d is %g (bits %08x), the scalar level gives %g (bits %08x)" what i got.[i] (BitConverter.SingleToInt32Bits got.[i]) expected.[i] (BitConverter.SingleToInt32Bits expected.[i])

/// GEMM at a level: the double reference, and bit for bit the scalar level.
let private gemmAt (level: string) (c: KernelsGemm.GemmCase) =
    let isa = levelNamed level
    withIsa isa (fun () -> KernelsGemm.checkCase c) |> ignore
    let run l =
        let a, lda, b, ldb, cc, ldc = KernelsGemm.operands c
        withIsa l (fun () -> Gemm.Sgemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, c.Beta, Span cc, ldc))
        cc
    bitsEqual (sprintf "%s %A" level c) (run IsaLevel.Scalar) (run isa)

[<IsaProperty("avx512", 80)>]
let ``GEMM at avx512 matches the reference and the scalar level's bits`` c = gemmAt "avx512" c

[<IsaProperty("avx2", 80)>]
let ``GEMM at avx2 matches the reference and the scalar level's bits`` c = gemmAt "avx2" c

[<IsaProperty("vector128", 80)>]
let ``GEMM at vector128 matches the reference and the scalar level's bits`` c = gemmAt "vector128" c

[<IsaProperty("scalar", 80)>]
let ``GEMM at scalar matches the reference and the scalar level's bits`` c = gemmAt "scalar" c

/// Forward, BackwardInput and BackwardWeight of g at a level, outputs starting as NaN.
let private convAll (isa: IsaLevel) (g: ConvGeometry) seed =
    let xs, ws, ys = KernelsConv.sizes g
    let x, w, dy, bias = randomArray seed xs, randomArray (seed + 1) ws, randomArray (seed + 2) ys, randomArray (seed + 3) g.Cout
    let y, dx, dw = Array.create ys nanf, Array.create xs nanf, Array.create ws nanf
    withIsa isa (fun () ->
        ConvKernels.Forward(g, ReadOnlySpan x, ReadOnlySpan w, ReadOnlySpan bias, Span y)
        ConvKernels.BackwardInput(g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
        ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw))
    y, dx, dw

/// A conv case at a level gives the scalar level's bits in all three kernels.
let private convSameBits (level: string) (g: ConvGeometry, seed) =
    let y, dx, dw = convAll (levelNamed level) g seed
    let y0, dx0, dw0 = convAll IsaLevel.Scalar g seed
    bitsEqual (sprintf "%s Forward %A" level g) y0 y
    bitsEqual (sprintf "%s BackwardInput %A" level g) dx0 dx
    bitsEqual (sprintf "%s BackwardWeight %A" level g) dw0 dw

/// Wide batches put image rows across the GEMM's sliver edges (every level's tile width).
type WideConv =
    static member Case() =
        Arb.fromGen (gen {
            let! c = KernelsConv.caseGen
            let g = c.Geometry
            let! n = Gen.choose (1, 12)
            return { c with Geometry = ConvGeometry(n, g.Cin, g.H, g.W, g.Cout, g.Kh, g.Kw, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW, g.Ho, g.Wo) } })

[<IsaProperty("avx512", 120, Arbitrary = [| typeof<WideConv> |])>]
let ``conv kernels at avx512 give the scalar level's bits`` (c: KernelsConv.ConvKernelCase) = convSameBits "avx512" (c.Geometry, c.Seed)

[<IsaProperty("avx2", 120, Arbitrary = [| typeof<WideConv> |])>]
let ``conv kernels at avx2 give the scalar level's bits`` (c: KernelsConv.ConvKernelCase) = convSameBits "avx2" (c.Geometry, c.Seed)

[<IsaProperty("vector128", 120, Arbitrary = [| typeof<WideConv> |])>]
let ``conv kernels at vector128 give the scalar level's bits`` (c: KernelsConv.ConvKernelCase) = convSameBits "vector128" (c.Geometry, c.Seed)

[<IsaProperty("scalar", 120, Arbitrary = [| typeof<WideConv> |])>]
let ``conv kernels at scalar give the scalar level's bits`` (c: KernelsConv.ConvKernelCase) = convSameBits "scalar" (c.Geometry, c.Seed)

[<SkippableTheory>]
[<InlineData("avx512")>]
[<InlineData("avx2")>]
[<InlineData("vector128")>]
[<InlineData("scalar")>]
let ``conv kernels (lowering, scatter, GEMM) at this ISA level give the scalar level's bits on the row-wise paths and the model's layers, and match the reference`` (level: string) =
    let isa = requireLevel level
    let check c = convSameBits level c
    // Row-wise paths: output rows from 1 to past the window widths, strides 1–2, 3×3 and 4×4 kernels.
    for wo in [ 1; 3; 7; 8; 9; 14; 15; 16; 17 ] do
        for s, k in [ 1, 3; 2, 4 ] do
            let h = (wo - 1) * s + k - 2
            check (geometry 3 2 h h 5 k k s s 1 1 1 1, wo) |> ignore
    // The AVX-512 window's edges: a row spanning 30 (applies), exactly 32 or 33 (does not); 64 rows (a plan that
    // fits) and 65 (does not).
    for s, wo in [ 3, 11; 4, 9; 3, 12 ] do
        let w = (wo - 1) * s + 4
        check (geometry 2 2 12 w 3 4 4 s s 0 0 1 1, 9) |> ignore
    for h in [ 64; 65 ] do check (geometry 1 2 h 8 3 3 3 1 1 1 1 1 1, 5) |> ignore
    for g in KernelsConv.modelLayers 5 do check (g, 7) |> ignore
    // And against the double reference at this level.
    let g = geometry 9 3 16 16 5 4 4 2 2 1 1 1 1
    let y, dx, dw = convAll isa g 21
    let xs, ws, ys = KernelsConv.sizes g
    let x, w, dy, bias = randomArray 21 xs, randomArray 22 ws, randomArray 23 ys, randomArray 24 g.Cout
    let e, s = convForwardRef g x w bias in assertClose "Forward" 1e-5 e s y
    let e, s = convBackwardInputRef g dy w in assertClose "BackwardInput" 1e-5 e s dx
    let e, s = convBackwardWeightRef g x dy in assertClose "BackwardWeight" 1e-5 e s dw

[<SkippableTheory>]
[<InlineData("avx512")>]
[<InlineData("avx2")>]
[<InlineData("vector128")>]
[<InlineData("scalar")>]
let ``few-tap weight gradients (dot products) at this ISA level give the scalar level's bits and match the reference`` (level: string) =
    let isa = requireLevel level
    // Taps in fours and left over (K = 3, 6, 16), pixel runs with and without a tail past eight, odd channel
    // blocks, dilation and padding, and a batch lowered in two chunks (K·P = 16·4225 floats per image).
    let cases =
        [ geometry 3 1 9 9 7 1 3 1 1 0 1 1 1
          geometry 2 1 11 10 13 2 3 2 1 1 0 1 2
          geometry 5 1 28 28 128 4 4 2 2 1 1 1 1
          geometry 20 1 130 130 33 4 4 2 2 1 1 1 1 ]
    for g in cases do
        Assert.True(WeightGradient.FewTaps g, sprintf "%A should take the few-tap path" g)
        let _, _, dw = convAll isa g 31
        let _, _, dw0 = convAll IsaLevel.Scalar g 31
        bitsEqual (sprintf "%s few-tap BackwardWeight %A" level g) dw0 dw
        let xs, _, ys = KernelsConv.sizes g
        let e, s = convBackwardWeightRef g (randomArray 31 xs) (randomArray 33 ys)
        assertClose (sprintf "%s few-tap BackwardWeight %A" level g) 1e-5 e s dw

/// The nearest-code search at a level picks the scalar level's codes and a brute-force nearest.
let private nearestAt (level: string) (c: KernelsNearest.NearestCase) =
    let isa = levelNamed level
    let n, d, k, seed = c.N, c.D, c.K, c.Seed
    let z, e = randomArray seed (n * d), randomArray (seed + 1) (k * d)
    // Duplicate codes make ties, which must go to the lowest index on every path.
    if k > 9 then Array.blit e 0 e (9 * d) d
    let got = withIsa isa (fun () -> KernelsNearest.argmin z n d e k)
    let scalar = withIsa IsaLevel.Scalar (fun () -> KernelsNearest.argmin z n d e k)
    if got <> scalar then failwithf "%s: %A differs from the scalar level's %A" level got scalar
    for i in 0 .. n - 1 do
        let dists = Array.init k (fun j -> KernelsNearest.dist2 z i e j d)
        let tol = 1e-5 * (KernelsNearest.dist2 z i (Array.zeroCreate d) 0 d + 1.0) * float d
        if dists.[got.[i]] > Array.min dists + tol then failwithf "%s row %d: picked %d, not a nearest" level i got.[i]
        if k > 9 && got.[i] = 9 then failwithf "%s row %d: picked 9, a duplicate of 0" level i

[<IsaProperty("avx512", 60)>]
let ``nearest-code search at avx512 picks the scalar level's codes and a brute-force nearest`` c = nearestAt "avx512" c

[<IsaProperty("avx2", 60)>]
let ``nearest-code search at avx2 picks the scalar level's codes and a brute-force nearest`` c = nearestAt "avx2" c

[<IsaProperty("vector128", 60)>]
let ``nearest-code search at vector128 picks the scalar level's codes and a brute-force nearest`` c = nearestAt "vector128" c

[<IsaProperty("scalar", 60)>]
let ``nearest-code search at scalar picks the scalar level's codes and a brute-force nearest`` c = nearestAt "scalar" c

/// Values with exact zeros (both signs), NaN, negatives and positives; an odd length leaves a tail for every vector width.
let private mixed seed n =
    randomArray seed n |> Array.mapi (fun i v -> if i % 7 = 0 then 0f elif i % 11 = 0 then -0f elif i % 97 = 0 then nanf else v)

[<SkippableTheory>]
[<InlineData("avx512")>]
[<InlineData("avx2")>]
[<InlineData("vector128")>]
[<InlineData("scalar")>]
let ``fused elementwise kernels (relu and sigmoid backward, Adam) at this ISA level give the scalar level's bits`` (level: string) =
    let isa = requireLevel level
    for n in [ 1; 3; 4; 7; 8; 9; 31; 70_001; 140_003 ] do
        let x, dy = Tensor.FromArray(mixed 1 n, n), Tensor.FromArray(mixed 2 n, n)
        let y = Tensor.FromArray(randomArray 3 n |> Array.map (fun v -> abs v), n)
        let fused l =
            withIsa l (fun () ->
                let relu = Tensor.OfRaw(dy.Primal.ReluBackward(x.Primal)).ToArray()
                let sigmoid = Tensor.OfRaw(dy.Primal.SigmoidBackward(y.Primal)).ToArray()
                let struct (p, m, v) = Tensor.AdamUpdate(x, dy, y * 0.1f, y * y, 3, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f)
                [ relu; sigmoid; p.ToArray(); m.ToArray(); v.ToArray() ])
        let got, scalar = fused isa, fused IsaLevel.Scalar
        List.iteri2 (fun i (e: float32[]) (a: float32[]) -> bitsEqual (sprintf "%s kernel %d, n = %d" level i n) e a) scalar got
        // The scalar relu backward is dy · step(x) exactly.
        let xs, ds = x.ToArray(), dy.ToArray()
        bitsEqual "relu backward vs dy·step(x)" (Array.init n (fun i -> ds.[i] * (if xs.[i] > 0f then 1f else 0f))) scalar.[0]

[<SkippableTheory>]
[<InlineData("avx512")>]
[<InlineData("avx2")>]
[<InlineData("vector128")>]
[<InlineData("scalar")>]
let ``channel sums (bias gradients, every dimension but one) at this ISA level give the scalar level's bits and the exact sum`` (level: string) =
    let isa = requireLevel level
    // Runs (H·W) with and without a tail past the eight lanes, one to many images, channels split over threads or not.
    for n, c, h, w in [ (1, 1, 4, 4); (3, 5, 7, 7); (64, 9, 14, 14); (2, 3, 1, 17); (5, 130, 28, 28) ] do
        let x = Tensor.FromArray(randomArray (n * c + h) (n * c * h * w), n, c, h, w)
        let sums l = withIsa l (fun () -> x.Sum([| 0; 2; 3 |]).ToArray())
        let got = sums isa
        bitsEqual (sprintf "%s channel sums of [%d,%d,%d,%d]" level n c h w) (sums IsaLevel.Scalar) got
        let xs = x.ToArray()
        for ch in 0 .. c - 1 do
            let mutable exact = 0.0
            for i in 0 .. n - 1 do
                for j in 0 .. h * w - 1 do exact <- exact + float xs.[(i * c + ch) * h * w + j]
            let tol = 1e-5 * float (n * h * w)
            if abs (float got.[ch] - exact) > tol then
                failwithf "%s channel %d of [%d,%d,%d,%d]: %g, the double sum is %g" level ch n c h w got.[ch] exact

[<Fact>]
let ``VQVAE_ISA values parse case-insensitively, blank means the best level, anything else is one clear error`` () =
    Assert.Equal(CpuIsa.Best, CpuIsa.Parse(null))
    Assert.Equal(CpuIsa.Best, CpuIsa.Parse("  "))
    Assert.Equal(IsaLevel.Scalar, CpuIsa.Parse("Scalar"))
    Assert.Equal(IsaLevel.Vector128, CpuIsa.Parse(" vector128 "))
    let e = Assert.Throws<ArgumentException>(fun () -> CpuIsa.Parse("sse9") |> ignore)
    Assert.Equal("VQVAE_ISA", e.ParamName)
    Assert.Contains("VQVAE_ISA=sse9 is not an ISA level: expected one of avx512, avx2, vector128, scalar", e.Message)
    Assert.DoesNotContain("\n", e.Message)
    for level in CpuIsa.All do
        if CpuIsa.Supports level then
            Assert.Equal(level, CpuIsa.Parse(CpuIsa.Name level))
            withIsa level (fun () -> Assert.Equal(level, CpuIsa.Level))
        else
            // A level this CPU lacks: the same one-line error from the variable and from the API setting.
            let e = Assert.Throws<ArgumentException>(fun () -> CpuIsa.Parse(CpuIsa.Name level) |> ignore)
            Assert.Equal("VQVAE_ISA", e.ParamName)
            Assert.Contains(sprintf "this CPU does not support %s" (CpuIsa.Name level), e.Message)
            let before = CpuIsa.Level
            let e2 = Assert.Throws<ArgumentException>(fun () -> CpuIsa.Level <- level)
            Assert.Contains(sprintf "this CPU does not support %s" (CpuIsa.Name level), e2.Message)
            Assert.Equal(before, CpuIsa.Level)
    Assert.True(CpuIsa.Supports IsaLevel.Scalar)
    Assert.Equal(CpuIsa.All |> Seq.find CpuIsa.Supports, CpuIsa.Best)

[<Fact>]
let ``the portable even-lane gather (a CPU with neither SSE nor AdvSimd) takes lanes 0 and 2 of each register`` () =
    let lo, hi = Vector128.Create(1f, 2f, 3f, 4f), Vector128.Create(5f, 6f, 7f, 8f)
    Assert.Equal(Vector128.Create(1f, 3f, 5f, 7f), Vector128Rows.EvenLanes(lo, hi))
