/// Finite-difference properties of GatherRows (backward = scatter-add, repeated indices accumulate)
/// and ScatterAddRows (backward = gather), plus their forward values.
module VqVae.Tensors.Tests.GatherGradTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

[<PropertyTest(50)>]
let ``gatherRows gradient with repeated indices`` (c: GatherCase) = onEveryBackend <| fun () ->
    let table = uniform c.Seed 0 -2f 2f [| c.K; c.D |]
    let rows = table.GatherRows(c.Indices)
    Assert.Equal<int[]>([| c.Indices.Length; c.D |], rows.Shape)
    for i in 0 .. c.Indices.Length - 1 do
        for d in 0 .. c.D - 1 do Assert.Equal(table[c.Indices[i], d], rows[i, d])
    if c.Indices.Length > 0 then
        FiniteDiff.check1 (fun t -> t.GatherRows(c.Indices)) table

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``gatherRows gradient counts every repeat and leaves unused rows at zero`` (backend: string) = onBackend backend <| fun () ->
    let table = Tensor.FromArray(Array.init 8 float32, 4, 2)
    let idx = [| 2; 0; 2; 2 |]
    let struct (_, g) = Grad.ValueAndGrad(System.Func<_, _>(fun (t: Tensor) -> t.GatherRows(idx).Sum()), table)
    Assert.Equal<float32[]>([| 1f; 1f; 0f; 0f; 3f; 3f; 0f; 0f |], (nonNull g).ToArray())

[<PropertyTest(50)>]
let ``scatterAddRows gradient`` (c: GatherCase) = onEveryBackend <| fun () ->
    if c.Indices.Length > 0 then
        let src = uniform c.Seed 0 -2f 2f [| c.Indices.Length; c.D |]
        let y = src.ScatterAddRows(c.Indices, c.K)
        Assert.Equal<int[]>([| c.K; c.D |], y.Shape)
        let expected = Array.zeroCreate<float32> (c.K * c.D)
        c.Indices |> Array.iteri (fun i k -> for d in 0 .. c.D - 1 do expected[k * c.D + d] <- expected[k * c.D + d] + src[i, d])
        Array.iteri2 (fun i (e: float32) (v: float32) -> if abs (e - v) > 1e-5f then failwithf "element %d: expected %g, got %g" i e v) expected (y.ToArray())
        FiniteDiff.check1 (fun t -> t.ScatterAddRows(c.Indices, c.K)) src

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``oneHot places ones at the indices`` (backend: string) = onBackend backend <| fun () ->
    let h = Tensor.OneHot([| 2; 0; 2 |], 3)
    Assert.Equal<int[]>([| 3; 3 |], h.Shape)
    Assert.Equal<float32[]>([| 0f; 0f; 1f; 1f; 0f; 0f; 0f; 0f; 1f |], h.ToArray())
    Assert.False(h.IsTracked)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the smallest valid sizes: one class for oneHot, no rows for scatterAddRows`` (backend: string) = onBackend backend <| fun () ->
    Assert.Equal<float32[]>([| 1f; 1f |], Tensor.OneHot([| 0; 0 |], 1).ToArray())
    Assert.Equal<int[]>([| 2; 1 |], Tensor.OneHot([| 0; 0 |], 1).Shape)
    let empty = Tensor.Zeros(0, 3).ScatterAddRows([||], 0)
    Assert.Equal<int[]>([| 0; 3 |], empty.Shape)

