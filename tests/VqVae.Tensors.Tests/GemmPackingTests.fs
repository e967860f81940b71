/// The GEMM's packed slivers element by element, against the layout GemmPacking documents: an A sliver is
/// [kc][MR] with alpha folded in, a B sliver [kc][NR], and every row or column past the matrix edge is zero.
/// The GEMM tests see only the product, and the micro-kernels drop the edge rows and columns they compute, so
/// a nonzero edge or a float written past the sliver would not show there. Every (MR, NR) of the ISA levels.
module VqVae.Tensors.Tests.GemmPackingTests

#nowarn "9" // pinned arrays (fixed) to call the packing with pointers

open System
open FsCheck.FSharp
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.Properties

/// (MR, NR) of the scalar, vector128, avx2 and avx512 micro-kernels.
let private tiles = [| 4, 4; 6, 8; 6, 16; 8, 48 |]
let private marker = 12345.5f
let private tail = 4
let private bitsDiffer (a: float32) (b: float32) = BitConverter.SingleToInt32Bits a <> BitConverter.SingleToInt32Bits b

/// A block of a stored matrix: op(M) is rows × depth (or depth × cols for B), the block starts at (start, p0),
/// spans `count` rows/columns and kc of depth; the stored matrix has `extra` floats of padding per row.
type PackCase = { Trans: bool; Tile: int; Size: int; Depth: int; Start: int; Count: int; P0: int; Kc: int; Extra: int; Alpha: float32; Seed: int }

let private caseGen (maxCount: int -> int) =
    gen {
        let! trans = Gen.elements [ false; true ]
        let! tile = Gen.choose (0, tiles.Length - 1)
        let! size = Gen.choose (1, 110)
        let! depth = Gen.choose (1, 20)
        let! start = Gen.choose (0, size - 1)
        let! count = Gen.choose (1, min (maxCount tile) (size - start))
        let! p0 = Gen.choose (0, depth - 1)
        let! kc = Gen.choose (1, depth - p0)
        let! extra = Gen.choose (0, 3)
        let! alpha = Gen.elements [ 1f; 0.5f; -2f ]
        let! seed = Gen.choose (0, 1_000_000)
        return { Trans = trans; Tile = tile; Size = size; Depth = depth; Start = start; Count = count; P0 = p0; Kc = kc; Extra = extra; Alpha = alpha; Seed = seed }
    }

[<PropertyTest(300)>]
let ``PackA writes alpha times op(A) in [kc][MR] order, zero rows past the edge, and nothing past the sliver`` () =
    Prop.forAll (Arb.fromGen (caseGen (fun t -> fst tiles[t]))) (fun c ->
        let mr = fst tiles[c.Tile]
        // op(A) is Size × Depth; stored [Depth, Size] when transposed.
        let lda = (if c.Trans then c.Size else c.Depth) + c.Extra
        let a = randomArray c.Seed ((if c.Trans then c.Depth else c.Size) * lda)
        let opA i p = if c.Trans then a[p * lda + i] else a[i * lda + p]
        let dst = Array.create (c.Kc * mr + tail) marker
        do
            use pa = fixed a
            use pd = fixed dst
            GemmPacking.PackA(c.Trans, pa, lda, c.Start, c.Count, c.P0, c.Kc, mr, c.Alpha, pd)
        for p in 0 .. c.Kc - 1 do
            for r in 0 .. mr - 1 do
                let want = if r < c.Count then c.Alpha * opA (c.Start + r) (c.P0 + p) else 0f
                if bitsDiffer dst[p * mr + r] want then failwithf "PackA %A: [%d][%d] is %g, expected %g" c p r dst[p * mr + r] want
        for i in c.Kc * mr .. dst.Length - 1 do
            if bitsDiffer dst[i] marker then failwithf "PackA %A: wrote %g at %d past the sliver" c dst[i] (i - c.Kc * mr))

[<PropertyTest(300)>]
let ``PackB writes op(B) in [kc][NR] slivers, zero columns past the edge, and nothing past the last sliver`` () =
    Prop.forAll (Arb.fromGen (caseGen (fun _ -> 110))) (fun c ->
        let nr = snd tiles[c.Tile]
        // op(B) is Depth × Size; stored [Size, Depth] when transposed.
        let ldb = (if c.Trans then c.Depth else c.Size) + c.Extra
        let b = randomArray c.Seed ((if c.Trans then c.Size else c.Depth) * ldb)
        let opB p j = if c.Trans then b[j * ldb + p] else b[p * ldb + j]
        let slivers = (c.Count + nr - 1) / nr
        let size = slivers * c.Kc * nr
        let dst = Array.create (size + tail) marker
        do
            use pb = fixed b
            use pd = fixed dst
            GemmPacking.PackB(c.Trans, pb, ldb, c.Start, c.Count, c.P0, c.Kc, nr, pd)
        for s in 0 .. slivers - 1 do
            for p in 0 .. c.Kc - 1 do
                for col in 0 .. nr - 1 do
                    let j = s * nr + col
                    let want = if j < c.Count then opB (c.P0 + p) (c.Start + j) else 0f
                    let i = s * c.Kc * nr + p * nr + col
                    if bitsDiffer dst[i] want then failwithf "PackB %A: sliver %d [%d][%d] is %g, expected %g" c s p col dst[i] want
        for i in size .. dst.Length - 1 do
            if bitsDiffer dst[i] marker then failwithf "PackB %A: wrote %g at %d past the slivers" c dst[i] (i - size))
