/// The im2col lowerings and their adjoint called directly, on padded rows: every element of the column
/// matrix against the definition, and nothing written (or read) outside it. A row of a column matrix may be
/// longer than its data (the leading dimension), and the last row ends where the buffer ends; the conv tests
/// call these through the kernels, where one float written past a row is overwritten by the next row and so
/// invisible. Here the padding and the floats past the end hold a marker that must survive.
namespace VqVae.Tensors.Tests

#nowarn "9" // pinned arrays (fixed) to call the lowerings with pointers

open System
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.Properties

module Im2ColLayoutTests =

    let private marker = 12345.5f
    let private tail = 4

    /// Input pixel (ci, ih, iw) of one image, or 0 outside it (the padding).
    let private pixel (g: ConvGeometry) (x: float32[]) ci ih iw =
        if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W then 0f else x[(ci * g.H + ih) * g.W + iw]

    /// The column matrix's element for row r = (ci, kh, kw) and output pixel (oh, ow), by definition.
    let private column (g: ConvGeometry) (x: float32[]) r oh ow =
        let ci, t = r / (g.Kh * g.Kw), r % (g.Kh * g.Kw)
        let kh, kw = t / g.Kw, t % g.Kw
        pixel g x ci (oh * g.StrideH - g.PadH + kh * g.DilationH) (ow * g.StrideW - g.PadW + kw * g.DilationW)

    /// One image of the case's geometry, and a row padding of 1 to 3 floats.
    let private oneImage (c: KernelsConv.ConvKernelCase) =
        let g0 = c.Geometry
        let g = ConvGeometry(1, g0.Cin, g0.H, g0.W, g0.Cout, g0.Kh, g0.Kw, g0.StrideH, g0.StrideW, g0.PadH, g0.PadW, g0.DilationH, g0.DilationW, g0.Ho, g0.Wo)
        g, randomArray c.Seed (g.Cin * g.H * g.W), 1 + c.Seed % 3

    let private isMarker (v: float32) = BitConverter.SingleToInt32Bits v = BitConverter.SingleToInt32Bits marker

    /// Runs a lowering into `count` rows of `len` floats, ld = len + pad apart, in a buffer of marker floats; checks
    /// element b of row a against expected a b, and that the row padding and the floats past the last row keep the marker.
    let private checkRows what (g: ConvGeometry) count len pad (expected: int -> int -> float32) (lower: nativeptr<float32> -> int64 -> unit) =
        let ld = len + pad
        let out = Array.create (count * ld + tail) marker
        do
            use po = fixed out
            lower po (int64 ld)
        for a in 0 .. count - 1 do
            for b in 0 .. ld - 1 do
                let v = out[a * ld + b]
                if b < len then
                    let want = expected a b
                    if v <> want then failwithf "%s %A: row %d, element %d is %g, expected %g" what g a b v want
                elif not (isMarker v) then failwithf "%s %A: row %d's padding at %d was written (%g)" what g a b v
        for i in count * ld .. out.Length - 1 do
            if not (isMarker out[i]) then failwithf "%s %A: wrote %g at %d, past the last row" what g out[i] (i - count * ld)

    /// Lower: one row per (ci, kh, kw), Ho·Wo floats.
    [<PropertyTest(200)>]
    let ``Lower writes every column element by definition and nothing in the row padding or past the end`` (c: KernelsConv.ConvKernelCase) =
        let g, x, pad = oneImage c
        checkRows "Lower" g (g.Cin * g.Kh * g.Kw) (g.Ho * g.Wo) pad (fun r q -> column g x r (q / g.Wo) (q % g.Wo)) (fun cols ld ->
            use px = fixed x
            Im2Col.Lower(g, px, cols, ld))

    /// LowerTransposed: one row per output pixel, Cin·Kh·Kw floats.
    [<PropertyTest(200)>]
    let ``LowerTransposed writes every element by definition and nothing in the row padding or past the end`` (c: KernelsConv.ConvKernelCase) =
        let g, x, pad = oneImage c
        checkRows "LowerTransposed" g (g.Ho * g.Wo) (g.Cin * g.Kh * g.Kw) pad (fun q r -> column g x r (q / g.Wo) (q % g.Wo)) (fun colsT ld ->
            use px = fixed x
            Im2Col.LowerTransposed(g, px, colsT, ld))

    /// Raise, the adjoint: dx[pixel] = the sum of the column elements that read it, added in row order (as
    /// Raise documents, so the bits match a float32 sum in that order); the row padding holds values that
    /// would show if read, and nothing past dx is written.
    [<PropertyTest(200)>]
    let ``Raise adds each column element into the pixel it was read from, in row order, and touches nothing else`` (c: KernelsConv.ConvKernelCase) =
        let g, _, pad = oneImage c
        let rows, len = g.Cin * g.Kh * g.Kw, g.Ho * g.Wo
        let ld = len + pad
        let values = randomArray (c.Seed + 1) (rows * len)
        let cols = Array.init (rows * ld) (fun i -> if i % ld < len then values[(i / ld) * len + i % ld] else 1e30f)
        let pixels = g.Cin * g.H * g.W
        let want = Array.zeroCreate<float32> pixels
        for r in 0 .. rows - 1 do
            let ci, t = r / (g.Kh * g.Kw), r % (g.Kh * g.Kw)
            let kh, kw = t / g.Kw, t % g.Kw
            for oh in 0 .. g.Ho - 1 do
                for ow in 0 .. g.Wo - 1 do
                    let ih, iw = oh * g.StrideH - g.PadH + kh * g.DilationH, ow * g.StrideW - g.PadW + kw * g.DilationW
                    if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W then
                        let i = (ci * g.H + ih) * g.W + iw
                        want[i] <- want[i] + values[r * len + oh * g.Wo + ow]
        let dx = Array.init (pixels + tail) (fun i -> if i < pixels then 0f else marker)
        do
            use pc = fixed cols
            use pd = fixed dx
            Im2Col.Raise(g, pc, int64 ld, pd)
        for i in 0 .. pixels - 1 do
            if BitConverter.SingleToInt32Bits dx[i] <> BitConverter.SingleToInt32Bits want[i] then
                failwithf "Raise %A: dx[%d] is %g, expected %g" g i dx[i] want[i]
        for i in pixels .. dx.Length - 1 do
            if not (isMarker dx[i]) then failwithf "Raise %A: wrote %g at %d, past dx" g dx[i] (i - pixels)
