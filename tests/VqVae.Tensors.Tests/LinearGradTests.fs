/// Finite-difference properties of MatMul and MatMulT (all four transpose combinations), plus a
/// forward check against a naive triple loop.
module VqVae.Tensors.Tests.LinearGradTests

open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

let private operands (c: MatCase) =
    let a = uniform c.Seed 0 -2f 2f (if c.TransA then [| c.K; c.M |] else [| c.M; c.K |])
    let b = uniform c.Seed 1 -2f 2f (if c.TransB then [| c.N; c.K |] else [| c.K; c.N |])
    a, b

/// op(a)·op(b) by a naive loop in double.
let private reference (c: MatCase) (a: Tensor) (b: Tensor) =
    Array.init (c.M * c.N) (fun ij ->
        let i, j = ij / c.N, ij % c.N
        let mutable s = 0.0
        for p in 0 .. c.K - 1 do
            let av = if c.TransA then a[p, i] else a[i, p]
            let bv = if c.TransB then b[j, p] else b[p, j]
            s <- s + float av * float bv
        s)

[<PropertyTest(40)>]
let ``matMul gradient`` (c: MatCase) = onEveryBackend <| fun () ->
    let a, b = operands { c with TransA = false; TransB = false }
    FiniteDiff.check (fun ts -> Tensor.MatMul(ts[0], ts[1])) [| a; b |]
    FiniteDiff.check (fun ts -> ts[0].MatMul(ts[1])) [| a; b |]

[<PropertyTest(60)>]
let ``matMulT gradient, all transpose combinations`` (c: MatCase) = onEveryBackend <| fun () ->
    let a, b = operands c
    FiniteDiff.check (fun ts -> Tensor.MatMulT(ts[0], ts[1], c.TransA, c.TransB)) [| a; b |]

[<PropertyTest(30)>]
let ``matMulT gradient with only one side tracked`` (c: MatCase) = onEveryBackend <| fun () ->
    let a, b = operands c
    FiniteDiff.check1 (fun t -> Tensor.MatMulT(t, b, c.TransA, c.TransB)) a
    FiniteDiff.check1 (fun t -> Tensor.MatMulT(a, t, c.TransA, c.TransB)) b

[<PropertyTest(60)>]
let ``matMulT values match a naive loop`` (c: MatCase) = onEveryBackend <| fun () ->
    let a, b = operands c
    let y = Tensor.MatMulT(a, b, c.TransA, c.TransB)
    Assert.Equal<int[]>([| c.M; c.N |], y.Shape)
    let expected = reference c a b
    Array.iteri2 (fun i (e: float) (v: float32) ->
        if abs (e - float v) > 1e-5 * (1.0 + abs e) then failwithf "element %d: expected %g, got %g" i e v) expected (y.ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``matMul with an empty dimension gives zeros of the right shape`` (backend: string) = onBackend backend <| fun () ->
    // regression: an inner size of 0 reached GEMM with a leading dimension of 0 and threw
    let y = Tensor.MatMul(Tensor.Zeros(2, 0), Tensor.Zeros(0, 3))
    Assert.Equal<int[]>([| 2; 3 |], y.Shape)
    Assert.Equal<float32[]>(Array.zeroCreate 6, y.ToArray())
    Assert.Equal<int[]>([| 0; 3 |], Tensor.MatMul(Tensor.Zeros(0, 0), Tensor.Zeros(0, 3)).Shape)
    Assert.Equal<int[]>([| 2; 0 |], Tensor.MatMulT(Tensor.Zeros(4, 2), Tensor.Zeros(0, 4), true, true).Shape)
    let struct (_, gs) = Grad.ValueAndGrad(System.Func<Tensor[], Tensor>(fun ts -> Tensor.MatMul(ts[0], ts[1]).Sum()), [| Tensor.Zeros(2, 0); Tensor.Zeros(0, 3) |])
    Assert.Equal<int[]>([| 2; 0 |], (nonNull gs[0]).Shape)
    Assert.Equal<int[]>([| 0; 3 |], (nonNull gs[1]).Shape)
