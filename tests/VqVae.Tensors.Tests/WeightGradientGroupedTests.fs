/// The convolution weight gradient's grouped path (WeightGradient's own GEMMs, partial sums per image
/// group added in group order). The column path takes every geometry whose windows fit the padded image
/// and whose buffers stay under 2^28 floats, so no test geometry would reach the grouped one; these tests
/// force it with the process-wide WeightGradient.ForceGrouped switch and check it against the reference
/// loops, against the column path, and for the same bits at any thread count.
namespace VqVae.Tensors.Tests

#nowarn "9" // pinned arrays (fixed) to call the column path with pointers

open System
open Xunit
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.ThreadCount
open VqVae.Tensors.Tests.Properties

/// The switch is process-wide and changes which path (and so which rounding) every weight gradient
/// takes, so its tests run alone: never beside the determinism tests or any other test.
[<CollectionDefinition("WeightGradient.ForceGrouped", DisableParallelization = true)>]
type WeightGradientForceGroupedCollection() = class end

[<Collection("WeightGradient.ForceGrouped")>]
module WeightGradientGroupedTests =

    /// dw for g through the grouped path (or the usual choice when grouped is false).
    let private backwardWeight (grouped: bool) (g: ConvGeometry) (x: float32[]) (dy: float32[]) =
        let dw = Array.create (g.Cout * g.Cin * g.Kh * g.Kw) nanf
        WeightGradient.ForceGrouped <- grouped
        try ConvKernels.BackwardWeight(g, ReadOnlySpan x, ReadOnlySpan dy, Span dw)
        finally WeightGradient.ForceGrouped <- false
        dw

    /// dw for g straight from the column path (WeightGradientColumns) with the given level's kernel, bypassing the choice of path.
    let private columnPathAt (kern: GemmKernels.Kernel) (g: ConvGeometry) (x: float32[]) (dy: float32[]) =
        let dw = Array.create (g.Cout * g.Cin * g.Kh * g.Kw) nanf
        use px = fixed x
        use pdy = fixed dy
        use pdw = fixed dw
        WeightGradientColumns.Run(kern, g, px, pdy, pdw)
        dw

    let private columnPath g x dy = columnPathAt GemmKernels.Current g x dy

    let private operands (g: ConvGeometry) seed =
        let xs, _, ys = KernelsConv.sizes g
        randomArray seed xs, randomArray (seed + 1) ys

    /// Not a few-tap geometry (those take WeightGradientFewTaps, forced or not).
    let private general (g: ConvGeometry) = not (WeightGradient.FewTaps g)

    /// Kernel rows wider than 4 taps (the random geometries stop at 4): the transposed lowering copies an
    /// interior pixel's kernel row as one run, 4 floats at once only when the row is exactly 4 wide.
    [<Fact>]
    let ``the grouped path matches the reference loops for kernel rows of 5 and 7 taps`` () =
        for g in [ geometry 2 2 9 10 3 3 5 1 1 1 2 1 1; geometry 1 3 8 12 2 2 7 1 2 0 3 1 1 ] do
            let x, dy = operands g 3
            let e, s = convBackwardWeightRef g x dy
            assertClose (sprintf "grouped BackwardWeight %A" g) 1e-5 e s (backwardWeight true g x dy)

    /// Kernel rows of 8 taps: a whole number of rows per sliver at every vector level (NR 8, 16, 48), yet too wide
    /// for the column path's 4-float row copies, which take rows of at most 4 taps; each level this CPU has.
    [<Fact>]
    let ``the column path matches the reference loops for kernel rows of 8 taps at every level`` () =
        let g = geometry 2 1 6 12 3 3 8 1 1 1 2 1 1
        Assert.True(general g && WeightGradientColumns.Applies g)
        let x, dy = operands g 4
        let e, s = convBackwardWeightRef g x dy
        for level in CpuIsa.All |> Seq.filter CpuIsa.Supports do
            assertClose (sprintf "column path at %s, %A" (CpuIsa.Name level) g) 1e-5 e s (columnPathAt (GemmKernels.For level) g x dy)

    [<PropertyTest(200)>]
    let ``the grouped path matches the reference loops`` (c: KernelsConv.ConvKernelCase) =
        let g = c.Geometry
        let x, dy = operands g c.Seed
        let e, s = convBackwardWeightRef g x dy
        assertClose (sprintf "grouped BackwardWeight %A" g) 1e-5 e s (backwardWeight true g x dy)
        true

    [<Fact>]
    let ``on the model's layers the grouped path agrees with the column path and the reference, with the same bits at 1, 2 and 3 threads`` () =
        // The first layer (1×4×4 = 16 taps, 128 outputs) is the few-tap case the path's comment names; the others are general.
        let layers = KernelsConv.modelLayers 7
        Assert.Equal<bool list>([ false; true; true; true ], layers |> List.map general)
        // Seven images: four groups of 2, 2, 2 and 1, so groups hold several images and one is short.
        for g in layers |> List.filter general do
            Assert.Equal(2, WeightGradient.GroupSize g)
            let x, dy = operands g 11
            let e, s = convBackwardWeightRef g x dy
            let grouped = withThreads 1 (fun () -> backwardWeight true g x dy)
            assertClose (sprintf "grouped %A" g) 1e-5 e s grouped
            let columns = backwardWeight false g x dy
            assertClose (sprintf "columns %A" g) 1e-5 e s columns
            // Unforced, these layers take the column path.
            Assert.True(sameBits columns (columnPath g x dy), sprintf "unforced, not the column path's bits: %A" g)
            // The two paths add the images' terms in another order, so some bits differ: proof that the
            // switch reached the grouped path (were it ignored, every test here would check the column path).
            Assert.False(sameBits grouped columns, sprintf "the forced path gave the column path's bits: %A" g)
            for t in [ 2; 3 ] do
                Assert.True(sameBits grouped (withThreads t (fun () -> backwardWeight true g x dy)), sprintf "grouped, %d threads: %A" t g)

    [<Fact>]
    let ``the grouped path adds the groups' partial sums over every reduction chunk, the last one short`` () =
        // 255 × 257 = 65,535 weights: two reduction chunks of 2^15 floats, the second one float short; eight
        // images in four groups, so three partial sums are added into each chunk.
        let g = geometry 8 257 2 2 255 1 1 1 1 0 0 1 1
        Assert.True(general g)
        let x, dy = operands g 5
        let e, s = convBackwardWeightRef g x dy
        assertClose "grouped 257→255 1×1" 1e-5 e s (withThreads 2 (fun () -> backwardWeight true g x dy))

    [<Fact>]
    let ``the weight gradient of an empty batch or an empty output is zero, on either path`` () =
        let empty = [ geometry 0 3 5 5 4 3 3 1 1 1 1 1 1; ConvGeometry(2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 5) ]
        for g in empty do
            let x, dy = operands g 3
            for grouped in [ false; true ] do
                Assert.True(Array.forall (fun v -> v = 0f) (backwardWeight grouped g x dy), sprintf "%A (grouped %b)" g grouped)

    [<Fact>]
    let ``few taps means at most 16 kernel taps and at least twice as many outputs`` () =
        let taps cin kh kw cout = WeightGradient.FewTaps(geometry 2 cin 8 32 cout kh kw 1 1 0 0 1 1)
        Assert.True(taps 1 4 4 32, "1×4×4 = 16 taps, 32 outputs")
        Assert.False(taps 1 4 4 31, "16 taps, 31 outputs")
        Assert.False(taps 1 1 17 64, "17 taps")
        Assert.False(taps 1 2 8 20, "1×2×8 = 16 taps, 20 outputs")
        Assert.True(taps 2 2 4 32, "2×2×4 = 16 taps, 32 outputs")

    [<Fact>]
    let ``the group size, which fixes the order of the sums, follows the depth and column bounds and makes at least four groups`` () =
        // A group holds at most 1536 output pixels (4 GEMM depth chunks) and 2^21 floats of columns, and the
        // batch is cut into at least four groups of balanced size when it has four images or more:
        // first layer: 1536 / 196 = 7 images; second: 2^21 / (2048·49) = 20; third and fourth: 1536 / 49 = 31.
        let expected =
            [ [ 1; 1; 2; 7; 7 ]     // 32 = 5 groups (⌈32/7⌉) of ⌈32/5⌉ = 7; 100 = 15 groups of 7
              [ 1; 1; 2; 8; 20 ]    // 32 = 4 groups of 8; 100 = 5 groups of 20
              [ 1; 1; 2; 8; 25 ]    // 100 = 4 groups (⌈100/31⌉) of 25
              [ 1; 1; 2; 8; 25 ] ]
        for layer, sizes in List.zip [ 0 .. 3 ] expected do
            let got = [ for n in [ 1; 3; 7; 32; 100 ] -> WeightGradient.GroupSize (List.item layer (KernelsConv.modelLayers n)) ]
            Assert.True((sizes = got), sprintf "layer %d: group sizes %A, expected %A" layer got sizes)
