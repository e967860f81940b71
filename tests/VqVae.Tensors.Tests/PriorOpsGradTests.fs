/// Finite-difference properties of the ops an autoregressive prior needs (log-softmax, softmax,
/// cross-entropy over a class dimension, integer grids → embeddings, masked convolution, tanh and
/// the tanh·sigmoid gate), plus forward checks against definitions computed in double.
module VqVae.Tensors.Tests.PriorOpsGradTests

open System
open FsCheck.FSharp
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

let private pickDim (c: ShapeCase) = Rng.Seed(int64 c.Seed).IntAt(7L, c.Shape.Length)

/// log softmax computed in double from the definition (log Σ exp without shifting).
let private logSoftmaxRef (x: Tensor) (d: int) =
    let s = x.Shape
    let outer = s[.. d - 1] |> Array.fold (*) 1
    let inner = s[d + 1 ..] |> Array.fold (*) 1
    let k = s[d]
    let a = x.ToArray() |> Array.map float
    let r = Array.zeroCreate a.Length
    for o in 0 .. outer - 1 do
        for i in 0 .. inner - 1 do
            let at j = (o * k + j) * inner + i
            let lse = log (Seq.sum (seq { for j in 0 .. k - 1 -> exp a[at j] }))
            for j in 0 .. k - 1 do r[at j] <- a[at j] - lse
    r

let private assertClose (what: string) (expected: float[]) (actual: float32[]) =
    Assert.Equal(expected.Length, actual.Length)
    Array.iteri2 (fun i (e: float) (v: float32) ->
        if abs (e - float v) > 1e-5 * (1.0 + abs e) then failwithf "%s: element %d is %g, expected %g" what i v e) expected actual

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4Dim4> |])>]
let ``logSoftmax along a random dimension`` (c: ShapeCase) =
    let d = pickDim c
    let x = uniform c.Seed 0 -3f 3f c.Shape
    assertClose "logSoftmax" (logSoftmaxRef x d) (x.LogSoftmax(d).ToArray())
    FiniteDiff.check1 (fun t -> t.LogSoftmax(d - c.Shape.Length)) x

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4Dim4> |])>]
let ``softmax sums to one and has the right gradient`` (c: ShapeCase) =
    let d = pickDim c
    let x = uniform c.Seed 0 -3f 3f c.Shape
    let sums = x.Softmax(d).Sum(d).ToArray()
    for s in sums do Assert.InRange(s, 1f - 1e-5f, 1f + 1e-5f)
    FiniteDiff.check1 (fun t -> t.Softmax(d)) x

[<Fact>]
let ``logSoftmax is stable for huge logits`` () =
    // exp(1000) overflows float32; shifting by the max keeps every term finite
    let x = Tensor.FromArray([| 1000f; 999f; -1000f; 0f; 1e30f; -1e30f |], 2, 3)
    let y = x.LogSoftmax(1).ToArray()
    Assert.All(y, fun v -> Assert.False(Single.IsNaN v || Single.IsPositiveInfinity v))
    Assert.Equal(-log (1.0 + exp -1.0), float y[0], 5)
    Assert.Equal(0.0, float y[4], 6)
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(fun t -> Tensor.CrossEntropy(t, [| 0; 2 |])), x)
    Assert.All((nonNull g).ToArray(), fun v -> Assert.True(Single.IsFinite v))

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank2to4Dim4> |])>]
let ``crossEntropy per position and mean, classes along a random dimension`` (c: ShapeCase) =
    let d = pickDim c
    let x = uniform c.Seed 0 -3f 3f c.Shape
    let rest = c.Shape |> Array.removeAt d
    let m = rest |> Array.fold (*) 1
    let rng = Rng.Seed(int64 c.Seed).Fold(3L)
    let targets = Array.init m (fun i -> rng.IntAt(int64 i, c.Shape[d]))
    // reference: pick the target's log-probability at each position
    let lsm = logSoftmaxRef x d
    let inner = c.Shape[d + 1 ..] |> Array.fold (*) 1
    let k = c.Shape[d]
    let expected = Array.init m (fun p -> let o, i = p / inner, p % inner in -lsm[(o * k + targets[p]) * inner + i])
    let each = Tensor.CrossEntropyEach(x, targets, d)
    Assert.Equal<int[]>(rest, each.Shape)
    assertClose "crossEntropyEach" expected (each.ToArray())
    // float32 mean against a double reference: a relative tolerance (5 decimal places flaked on rounding boundaries)
    let mean = Array.average expected
    Assert.True(abs (mean - float (Tensor.CrossEntropy(x, targets, d).ToScalar())) <= 1e-5 * max 1.0 (abs mean))
    FiniteDiff.check1 (fun t -> Tensor.CrossEntropyEach(t, targets, d)) x
    FiniteDiff.check1 (fun t -> Tensor.CrossEntropy(t, targets, d)) x

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank3Dim4> |])>]
let ``embedGrid lays the table's rows out channels first`` (c: ShapeCase) =
    let b, h, w = c.Shape[0], c.Shape[1], c.Shape[2]
    let rng = Rng.Seed(int64 c.Seed).Fold(5L)
    let k, dim = 1 + rng.IntAt(0L, 5), 1 + rng.IntAt(1L, 3)
    let table = uniform c.Seed 0 -2f 2f [| k; dim |]
    let codes = Array.init (b * h * w) (fun i -> rng.IntAt(int64 (i + 2), k))
    let y = table.EmbedGrid(codes, b, h, w)
    Assert.Equal<int[]>([| b; dim; h; w |], y.Shape)
    for bi in 0 .. b - 1 do
        for i in 0 .. h - 1 do
            for j in 0 .. w - 1 do
                for e in 0 .. dim - 1 do
                    Assert.Equal(table[codes[(bi * h + i) * w + j], e], y[bi, e, i, j])
    FiniteDiff.check1 (fun t -> t.EmbedGrid(codes, b, h, w)) table

[<Fact>]
let ``embedGrid of an empty grid (any dimension 0) is an empty [B,D,H,W]`` () =
    let table = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 3, 2)
    for b, h, w in [ (0, 2, 3); (2, 0, 3); (2, 3, 0); (0, 0, 0) ] do
        Assert.Equal<int[]>([| b; 2; h; w |], table.EmbedGrid([||], b, h, w).Shape)

/// A random causal-looking 0/1 mask [kh,kw] (some taps kept, some zeroed).
let private randomMask (seed: int) kh kw =
    let rng = Rng.Seed(int64 seed).Fold(11L)
    Tensor.FromArray(Array.init (kh * kw) (fun i -> if rng.IntAt(int64 i, 3) = 0 then 0f else 1f), kh, kw)

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank4Dim4> |])>]
let ``maskedConv2d equals conv2d of the masked weight, masked taps get zero gradient`` (c: ShapeCase) =
    let nb, cin, h, w = c.Shape[0], c.Shape[1], 2 + c.Shape[2], 2 + c.Shape[3]
    let rng = Rng.Seed(int64 c.Seed).Fold(9L)
    let kh, kw, cout = 1 + rng.IntAt(0L, 3), 1 + rng.IntAt(1L, 3), 1 + rng.IntAt(2L, 3)
    let x = uniform c.Seed 0 -1f 1f [| nb; cin; h; w |]
    let wt = uniform c.Seed 1 -1f 1f [| cout; cin; kh; kw |]
    let b = uniform c.Seed 2 -1f 1f [| cout |]
    let mask = randomMask c.Seed kh kw
    let y = Tensor.MaskedConv2d(x, wt, mask, b, kh / 2, kw / 2)
    let reference = Tensor.Conv2d(x, wt * mask, b, 1, 1, kh / 2, kw / 2, 1, 1)
    Assert.Equal<float32[]>(reference.ToArray(), y.ToArray())
    FiniteDiff.check (fun ts -> Tensor.MaskedConv2d(ts[0], ts[1], mask, ts[2], kh / 2, kw / 2)) [| x; wt; b |]
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(fun t -> Tensor.MaskedConv2d(x, t, mask, b, kh / 2, kw / 2).Square().Sum()), wt)
    let g = nonNull g
    for o in 0 .. cout - 1 do
        for ci in 0 .. cin - 1 do
            for i in 0 .. kh - 1 do
                for j in 0 .. kw - 1 do
                    if mask[i, j] = 0f then Assert.Equal(0f, g[o, ci, i, j])

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4> |])>]
let ``gate is tanh of the first half times sigmoid of the second`` (c: ShapeCase) =
    let d = pickDim c
    let s = Array.updateAt d (2 * c.Shape[d]) c.Shape
    let x = uniform c.Seed 0 -3f 3f s
    let half = c.Shape[d]
    let a, b = x.Narrow(d, 0, half), x.Narrow(d, half, half)
    let expected = Array.map2 (fun (p: float32) (q: float32) -> tanh (float p) / (1.0 + exp (-(float q)))) (a.ToArray()) (b.ToArray())
    assertClose "gate" expected (x.Gate(d).ToArray())
    FiniteDiff.check1 (fun t -> t.Gate(d)) x
    FiniteDiff.check1 (fun t -> t.Tanh()) x

[<Fact>]
let ``prior ops name the bad argument`` () =
    let z (s: int list) = Tensor.Zeros(Array.ofList s)
    let throws (parts: string list) (f: unit -> obj) = refusedSaying parts f |> ignore
    throws [ "crossEntropy"; "expected 6 targets"; "got 5" ] (fun () -> Tensor.CrossEntropy(z [ 2; 4; 3 ], [| 0; 0; 0; 0; 0 |]))
    throws [ "crossEntropy"; "targets[1] = 4"; "[0, 3]" ] (fun () -> Tensor.CrossEntropy(z [ 2; 4 ], [| 0; 4 |]))
    throws [ "logSoftmax"; "NaN" ] (fun () -> Tensor.FromArray([| 1f; nanf |], 2).LogSoftmax(0))
    throws [ "embedGrid"; "needs 8 codes"; "got 3" ] (fun () -> (z [ 4; 2 ]).EmbedGrid([| 0; 1; 2 |], 2, 2, 2))
    throws [ "embedGrid"; "indices[0] = 9" ] (fun () -> (z [ 4; 2 ]).EmbedGrid([| 9 |], 1, 1, 1))
    // Each grid dimension on its own, so that dropping one of the three checks shows (mutation testing found none did).
    throws [ "embedGrid"; "table must be 2-D"; "[4]" ] (fun () -> (z [ 4 ]).EmbedGrid([| 0 |], 1, 1, 1))
    for grid in [ (-1, 2, 2); (2, -1, 2); (2, 2, -1); (-2, -1, 2) ] do
        let b, h, w = grid
        throws [ "embedGrid"; $"[{b},{h},{w}]"; "negative dimension" ] (fun () -> (z [ 4; 2 ]).EmbedGrid([| 0; 0; 0; 0 |], b, h, w))
    Assert.Equal("codes", Assert.Throws<ArgumentNullException>(fun () -> (z [ 4; 2 ]).EmbedGrid(Unchecked.defaultof<int[]>, 1, 1, 1) |> ignore).ParamName)
    throws [ "maskedConv2d"; "mask"; "[2,2]"; "[1,1,3,3]" ] (fun () -> Tensor.MaskedConv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], z [ 2; 2 ]))
    throws [ "gate"; "even"; "3" ] (fun () -> (z [ 1; 3; 2; 2 ]).Gate(1))

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4Dim4> |])>]
let ``the raw layer's portable Narrow, Cat and Max (what a backend inherits) equal the CPU kernels`` (c: ShapeCase) =
    let d = pickDim c
    let x = uniform c.Seed 0 -3f 3f c.Shape
    let y = uniform c.Seed 1 -3f 3f c.Shape
    let raw (t: Tensor) = t.Primal
    let size = c.Shape[d]
    let start = Rng.Seed(int64 c.Seed).IntAt(8L, size)
    let len = size - start
    Assert.Equal<float32[]>((raw x).Narrow(d, start, len).ToArray(), Backends.RawTensor.NarrowByPermute(raw x, d, start, len).ToArray())
    Assert.Equal<float32[]>((raw x).Cat(d, [| raw x; raw y |]).ToArray(), Backends.RawTensor.CatByPermute(raw x, d, [| raw x; raw y |]).ToArray())
    for keep in [ true; false ] do
        let a, b = (raw x).Max(d, keep), Backends.RawTensor.MaxByArgMin(raw x, d, keep)
        Assert.Equal<int[]>(a.Shape, b.Shape)
        Assert.Equal<float32[]>(a.ToArray(), b.ToArray())
