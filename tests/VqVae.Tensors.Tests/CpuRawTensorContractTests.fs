/// The CPU raw tensor's own paths, pinned after its first mutation run: the storage checks, the split of large
/// elementwise ops (only ops correctly rounded per element go over threads; the rest, and x ** 2's exact product,
/// keep one serial pass), the ops no gradient test reaches (sign of NaN, step, Pow in every operand layout) and
/// broadcasting with the non-commutative ops.
module VqVae.Tensors.Tests.CpuRawTensorContractTests

open System
open System.Numerics.Tensors
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.Refusals

let private bits (a: float32[]) = a |> Array.map BitConverter.SingleToInt32Bits
let private raw (values: float32[]) (shape: int[]) = CpuRawTensor(values, shape) :> RawTensor
/// 2·65,536 + 5 values in (lo, hi): enough for the split over threads (from two chunks), with a short last chunk.
let private large (seed: int64) lo hi = Tensor.Uniform(Rng.Seed seed, lo, hi, 2 * 65536 + 5).ToArray()
/// What a refusal test calls: f's result dropped (the checks below want an obj).
let private run (f: unit -> 'a) () : obj = f () |> ignore; nonNull (box 0)
/// The library's Pow over whole spans, unsplit: the reference for the backend's Pow.
let private powRight (x: float32[]) (s: float32) = let r = Array.zeroCreate x.Length in TensorPrimitives.Pow(ReadOnlySpan x, s, Span r); bits r
let private powLeft (s: float32) (x: float32[]) = let r = Array.zeroCreate x.Length in TensorPrimitives.Pow(s, ReadOnlySpan x, Span r); bits r
let private powBoth (a: float32[]) (b: float32[]) = let r = Array.zeroCreate a.Length in TensorPrimitives.Pow(ReadOnlySpan a, ReadOnlySpan b, Span r); bits r

[<Fact>]
let ``a cpu tensor's values must fill its shape, refused naming data, both counts and the shape`` () =
    refusedAs<ArgumentException> "data" "data has 5 values but shape [2,3] needs 6." (run (fun () -> CpuRawTensor(Array.zeroCreate 5, [| 2; 3 |]))) |> ignore

[<Fact>]
let ``a tensor read after its arena ended says why and what to do`` () =
    let stale =
        use _ = TensorArena.Begin()
        Tensor.Zeros(64, 64) * 2f
    let e = Assert.Throws<ObjectDisposedException>(fun () -> stale.ToArray() |> ignore)
    Assert.Contains("tensor: its storage was recycled when its TensorArena scope ended; use TensorArena.Keep on results that must outlive the scope.", e.Message)

[<Fact>]
let ``Unscoped returns ordinary storage itself and copies arena storage`` () =
    let plain = raw [| 1f; 2f |] [| 2 |]
    Assert.Same(plain, plain.Unscoped())
    use _ = TensorArena.Begin()
    let scoped = (Tensor.Uniform(Rng.Seed 1L, 0f, 1f, 2048) * 3f).Raw
    Assert.True(scoped.IsScoped)
    let copy = scoped.Unscoped()
    Assert.NotSame(scoped, copy)
    Assert.False(copy.IsScoped)
    Assert.Equal<int[]>(bits (scoped.ToArray()), bits (copy.ToArray()))

[<Fact>]
let ``every unary op on a large tensor gives, element for element, the bits it gives on a small one`` () =
    // Large tensors of the correctly rounded ops are split over threads; the others must not be (nor computed as
    // another op): the first 1,024 results equal the op over those 1,024 values alone.
    let x = large 2L 0.05f 3f
    let signed = large 3L -2f 2f
    for op in Enum.GetValues<UnaryOp>() do
        let input = if op = UnaryOp.Log || op = UnaryOp.Sqrt then x else signed
        let whole = (raw input [| input.Length |]).Unary(op).ToArray()
        let small = (raw input[.. 1023] [| 1024 |]).Unary(op).ToArray()
        Assert.True((bits small = bits whole[.. 1023]), $"{op}: the large tensor's first values differ from the op over them alone")

[<Fact>]
let ``sign keeps NaN and signed zeros' sign rule, step is 1 only above 0, and an unknown op is refused by name`` () =
    let x = raw [| nanf; -3f; -0f; 0f; 0.5f; infinityf |] [| 6 |]
    Assert.Equal<int[]>(bits [| nanf; -1f; 0f; 0f; 1f; 1f |], bits (x.Unary(UnaryOp.Sign).ToArray()))
    Assert.Equal<float32[]>([| 0f; 0f; 0f; 0f; 1f; 1f |], x.Unary(UnaryOp.Step).ToArray())
    refusedAs<ArgumentOutOfRangeException> "op" "unknown unary op" (run (fun () -> x.Unary(enum<UnaryOp> 99))) |> ignore
    refusedAs<ArgumentOutOfRangeException> "op" "unknown binary op" (run (fun () -> x.BinaryScalar(enum<BinaryOp> 99, 1f, false))) |> ignore

[<Fact>]
let ``x ** 2 is x times x exactly at every size, and Pow with the scalar on either side is the library's Pow`` () =
    for n in [ 7; 2 * 65536 + 5 ] do
        let x = large 4L -3f 3f |> Array.truncate n
        let t = raw x [| n |]
        Assert.Equal<int[]>(bits (Array.map (fun v -> v * v) x), bits (t.BinaryScalar(BinaryOp.Pow, 2f, false).ToArray()))
        let pos = x |> Array.map abs
        Assert.Equal<int[]>(powRight pos 1.7f, bits ((raw pos [| n |]).BinaryScalar(BinaryOp.Pow, 1.7f, false).ToArray()))
        Assert.Equal<int[]>(powLeft 1.3f x, bits (t.BinaryScalar(BinaryOp.Pow, 1.3f, true).ToArray()))

[<Fact>]
let ``Pow of two tensors is the library's Pow over the whole span, same shape or one side a single value`` () =
    let n = 2 * 65536 + 5
    let a = large 5L 0.1f 2f
    let b = large 6L -2f 2f
    Assert.Equal<int[]>(powBoth a b, bits ((raw a [| n |]).Binary(BinaryOp.Pow, raw b [| n |]).ToArray()))
    Assert.Equal<int[]>(powLeft 1.5f b, bits ((raw [| 1.5f |] [| 1 |]).Binary(BinaryOp.Pow, raw b [| n |]).ToArray()))
    Assert.Equal<int[]>(powRight a 0.5f, bits ((raw a [| n |]).Binary(BinaryOp.Pow, raw [| 0.5f |] [| 1 |]).ToArray()))

[<Fact>]
let ``broadcasting keeps the operands' order for subtraction, division and Pow`` () =
    // a [2,1] against b [2,3]: a repeats along the inner dimension, b is contiguous; then the other way round.
    // Every power here is exact, so MathF.Pow is an exact reference.
    let a, b = [| 2f; 4f |], [| 1f; 2f; 3f; 0.5f; -1f; 0f |]
    let ra, rb = raw a [| 2; 1 |], raw b [| 2; 3 |]
    let expect f = Array.init 6 (fun i -> f a[i / 3] b[i])
    for op, f in [ BinaryOp.Sub, (fun x y -> x - y); BinaryOp.Div, (fun x y -> x / y); BinaryOp.Pow, (fun x y -> MathF.Pow(x, y)) ] do
        Assert.Equal<float32[]>(expect f, ra.Binary(op, rb).ToArray())
        Assert.Equal<float32[]>(expect (fun x y -> f y x), rb.Binary(op, ra).ToArray())

/// Σ over o of one channel's runs in ElementwiseKernels.ChannelSum's order: eight lanes over each run's first
/// ⌊run/8⌋·8 values, a ninth chain over the rest, then ((0+1)+(2+3))+((4+5)+(6+7)) + the ninth.
let private laneSum (x: float32[]) (outer: int) (stride: int) (start: int) (run: int) =
    let lanes = Array.zeroCreate<float32> 8
    let mutable tail = 0f
    let body = run / 8 * 8
    for o in 0 .. outer - 1 do
        let b = start + o * stride
        for j in 0 .. 8 .. body - 1 do
            for l in 0 .. 7 do lanes[l] <- lanes[l] + x[b + j + l]
        for j in body .. run - 1 do tail <- tail + x[b + j]
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + tail

[<Fact>]
let ``a sum over all dimensions but one takes the channel-sum order from runs of 16, and one pass a dimension below`` () =
    // [O, C, R] summed over dims 0 and 2: from R = 16 up each channel is one ChannelSum; below, a pass per
    // dimension, last first (each run's library sum, then the rows added in order onto zeros).
    for o, c, r in [ 3, 4, 16; 2, 3, 40; 2, 3, 15; 2, 3, 4 ] do
        let x = Tensor.Uniform(Rng.Seed(int64 (o * 100 + r)), -1f, 1f, o * c * r).ToArray()
        let expected =
            Array.init c (fun ch ->
                if r >= 16 then laneSum x o (c * r) (ch * r) r
                else
                    let mutable acc = 0f
                    for i in 0 .. o - 1 do acc <- acc + TensorPrimitives.Sum(ReadOnlySpan(x, (i * c + ch) * r, r))
                    acc)
        let t = raw x [| o; c; r |]
        Assert.Equal<int[]>(bits expected, bits (t.Sum([| 0; 2 |], false).ToArray()))
        let kept = t.Sum([| 0; 2 |], true)
        Assert.Equal<int[]>([| 1; c; 1 |], kept.Shape)
        Assert.Equal<int[]>(bits expected, bits (kept.ToArray()))
    // Rank 2, summing the rows' values (dims [1]): runs of 20, one ChannelSum each.
    let x = Tensor.Uniform(Rng.Seed 9L, -1f, 1f, 5 * 20).ToArray()
    Assert.Equal<int[]>(bits (Array.init 5 (fun row -> laneSum x 1 100 (row * 20) 20)), bits ((raw x [| 5; 20 |]).Sum([| 1 |], false).ToArray()))

[<Fact>]
let ``a sum over a leading dimension adds onto zeros, also on storage the pool hands back dirty`` () =
    let len = 1109 // a length no other test uses: the pool is exact-length
    let scope = TensorArena.Begin()
    let dirty, _ = TensorArena.Alloc(len, false)
    Array.fill dirty 0 len nanf
    scope.Dispose()
    use _ = TensorArena.Begin()
    let x = Tensor.Uniform(Rng.Seed 10L, -1f, 1f, 2 * len).ToArray()
    let summed = (raw x [| 2; len |]).Sum([| 0 |], false)
    Assert.True(summed.IsScoped)
    Assert.Equal<int[]>(bits (Array.init len (fun j -> (0f + x[j]) + x[len + j])), bits (summed.ToArray()))

[<Fact>]
let ``a scalar permuted by the empty permutation is itself`` () =
    let p = (raw [| 5f |] [||]).Permute([||])
    Assert.Empty(p.Shape)
    Assert.Equal<float32[]>([| 5f |], p.ToArray())
