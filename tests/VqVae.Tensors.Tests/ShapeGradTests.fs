/// Finite-difference properties of the shape ops (Reshape, Expand, Permute, Transpose, T, Narrow, Cat)
/// plus forward checks that they move the values where they should.
module VqVae.Tensors.Tests.ShapeGradTests

open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank0to4> |])>]
let ``reshape to a random shape of the same size, with and without -1`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    let len = x.Length
    // factor the size into a random-ish target shape: [d, len/d] for the smallest divisor d > 1
    let d = seq { 2 .. len } |> Seq.tryFind (fun d -> len % d = 0) |> Option.defaultValue 1
    FiniteDiff.check1 (fun t -> t.Reshape(d, len / d)) x
    FiniteDiff.check1 (fun t -> t.Reshape(-1, d)) x
    FiniteDiff.check1 (fun t -> t.Reshape(len)) x
    Assert.Equal<float32[]>(x.ToArray(), x.Reshape(-1).ToArray())

[<PropertyTest(40)>]
let ``expand to a broadcast shape`` (c: PairCase) = onEveryBackend <| fun () ->
    let big = (uniform c.Seed 0 -1f 1f c.A + uniform c.Seed 1 -1f 1f c.B).Shape
    let x = uniform c.Seed 2 -2f 2f c.A
    Assert.Equal<int[]>(big, x.Expand(big).Shape)
    FiniteDiff.check1 (fun t -> t.Expand(big)) x

[<PropertyTest(40)>]
let ``permute by a random permutation`` (c: PermCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    let y = x.Permute(c.Perm)
    Assert.Equal<int[]>(c.Perm |> Array.map (fun p -> c.Shape[p]), y.Shape)
    // forward: y[i0..] = x[idx] with idx[perm[k]] = i_k
    let ys = y.Shape
    let total = y.Length
    for flat in 0 .. total - 1 do
        let outIdx = Array.zeroCreate ys.Length
        let mutable rest = flat
        for k in ys.Length - 1 .. -1 .. 0 do
            outIdx[k] <- rest % ys[k]
            rest <- rest / ys[k]
        let inIdx = Array.zeroCreate ys.Length
        for k in 0 .. ys.Length - 1 do inIdx[c.Perm[k]] <- outIdx[k]
        Assert.Equal(x[inIdx], y[outIdx])
    FiniteDiff.check1 (fun t -> t.Permute(c.Perm)) x

[<PropertyTest(40)>]
let ``transpose of two random dims`` (c: PermCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    let d0, d1 = c.Perm[0], c.Perm[c.Perm.Length - 1]
    FiniteDiff.check1 (fun t -> t.Transpose(d0, d1 - c.Shape.Length)) x

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank2Dim4> |])>]
let ``T of a matrix`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    Assert.Equal(x[0, c.Shape[1] - 1], x.T[c.Shape[1] - 1, 0])
    FiniteDiff.check1 (fun t -> t.T) x

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4Dim4> |])>]
let ``narrow a random range of a random dimension`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    let rng = Rng.Seed(int64 c.Seed)
    let d = rng.IntAt(0L, c.Shape.Length)
    let size = c.Shape[d]
    let start = rng.IntAt(1L, size)
    let length = 1 + rng.IntAt(2L, size - start)
    let y = x.Narrow(d - (if rng.IntAt(3L, 2) = 0 then 0 else c.Shape.Length), start, length)
    // reference: index arithmetic over the row-major layout
    let outer = c.Shape[.. d - 1] |> Array.fold (*) 1
    let inner = c.Shape[d + 1 ..] |> Array.fold (*) 1
    let xa = x.ToArray()
    let expected = [| for o in 0 .. outer - 1 do for j in start .. start + length - 1 do for i in 0 .. inner - 1 -> xa[(o * size + j) * inner + i] |]
    Assert.Equal<int[]>(Array.updateAt d length c.Shape, y.Shape)
    Assert.Equal<float32[]>(expected, y.ToArray())
    FiniteDiff.check1 (fun t -> t.Narrow(d, start, length)) x

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4> |])>]
let ``cat of several parts along a random dimension`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let rng = Rng.Seed(int64 c.Seed)
    let d = rng.IntAt(0L, c.Shape.Length)
    let sizes = Array.init (1 + rng.IntAt(1L, 3)) (fun i -> 1 + rng.IntAt(int64 (i + 2), 3))
    let parts = sizes |> Array.mapi (fun i k -> uniform c.Seed (i + 1) -2f 2f (Array.updateAt d k c.Shape))
    let y = Tensor.Cat(parts, d)
    // reference: for each outer index, the parts' runs one after another
    let outer = c.Shape[.. d - 1] |> Array.fold (*) 1
    let inner = c.Shape[d + 1 ..] |> Array.fold (*) 1
    let expected = [| for o in 0 .. outer - 1 do for (p, k) in Array.zip parts sizes do yield! p.ToArray()[o * k * inner .. (o + 1) * k * inner - 1] |]
    Assert.Equal<float32[]>(expected, y.ToArray())
    FiniteDiff.check (fun ts -> Tensor.Cat(ts, d)) parts

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank1to4> |])>]
let ``narrow undoes cat along any dimension`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let rng = Rng.Seed(int64 c.Seed)
    let d = rng.IntAt(0L, c.Shape.Length)
    let a = uniform c.Seed 1 -2f 2f c.Shape
    let b = uniform c.Seed 2 -2f 2f c.Shape
    let j = Tensor.Cat([| a; b |], d)
    Assert.Equal<float32[]>(a.ToArray(), j.Narrow(d, 0, c.Shape[d]).ToArray())
    Assert.Equal<float32[]>(b.ToArray(), j.Narrow(d, c.Shape[d], c.Shape[d]).ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``cat with an untracked part gives gradients to the tracked ones`` (backend: string) = onBackend backend <| fun () ->
    let a = Tensor.FromArray([| 1f; 2f |], 1, 2)
    let b = Tensor.FromArray([| 3f; 4f; 5f; 6f |], 2, 2)
    let weights = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 3, 2)
    let struct (_, g) = Grad.ValueAndGrad(System.Func<_, _>(fun (t: Tensor) -> (Tensor.Cat([| a; t |]) * weights).Sum()), b)
    Assert.Equal<float32[]>([| 3f; 4f; 5f; 6f |], (nonNull g).ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``narrow at its bounds: the whole dimension is the tensor itself, length 0 is empty`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray(Array.init 6 float32, 2, 3)
    Assert.Same(x, x.Narrow(1, 0, 3))
    Assert.Equal<int[]>([| 2; 0 |], x.Narrow(1, 1, 0).Shape)
    Assert.Equal<int[]>([| 2; 0 |], x.Narrow(1, 3, 0).Shape)
    Assert.Equal<float32[]>([| 2f; 5f |], x.Narrow(1, 2, 1).ToArray())

