/// Finite-difference properties of the reductions: Sum and Mean over everything, one dimension or
/// several (keepDim both ways, negative dims), Variance, and SumToShape (the adjoint of broadcasting).
module VqVae.Tensors.Tests.ReductionGradTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

let private reducedShape (c: DimsCase) =
    let ds = c.Dims |> Array.map (fun d -> if d < 0 then d + c.Shape.Length else d) |> Set.ofArray
    c.Shape |> Array.indexed |> Array.choose (fun (i, d) ->
        if ds.Contains i then (if c.KeepDim then Some 1 else None) else Some d)

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank0to4> |])>]
let ``sum of all elements`` (c: ShapeCase) = onEveryBackend <| fun () ->
    FiniteDiff.check1 (fun t -> t.Sum()) (uniform c.Seed 0 -2f 2f c.Shape)

[<PropertyTest(40, Arbitrary = [| typeof<Shapes.Rank0to4> |])>]
let ``mean of all elements`` (c: ShapeCase) = onEveryBackend <| fun () ->
    FiniteDiff.check1 (fun t -> t.Mean()) (uniform c.Seed 0 -2f 2f c.Shape)

[<PropertyTest(40)>]
let ``sum over random dims`` (c: DimsCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    Assert.Equal<int[]>(reducedShape c, x.Sum(c.Dims, c.KeepDim).Shape)
    FiniteDiff.check1 (fun t -> t.Sum(c.Dims, c.KeepDim)) x

[<PropertyTest(40)>]
let ``sum over one dim`` (c: DimsCase) = onEveryBackend <| fun () ->
    match c.Dims with
    | [||] -> ()
    | ds ->
        let x = uniform c.Seed 0 -2f 2f c.Shape
        FiniteDiff.check1 (fun t -> t.Sum(ds[0], c.KeepDim)) x

[<PropertyTest(40)>]
let ``mean over random dims`` (c: DimsCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    Assert.Equal<int[]>(reducedShape c, x.Mean(c.Dims, c.KeepDim).Shape)
    FiniteDiff.check1 (fun t -> t.Mean(c.Dims, c.KeepDim)) x

[<PropertyTest(40)>]
let ``mean over one dim`` (c: DimsCase) = onEveryBackend <| fun () ->
    match c.Dims with
    | [||] -> ()
    | ds -> FiniteDiff.check1 (fun t -> t.Mean(ds[0], c.KeepDim)) (uniform c.Seed 0 -2f 2f c.Shape)

[<PropertyTest(40)>]
let ``variance over random dims`` (c: DimsCase) = onEveryBackend <| fun () ->
    FiniteDiff.check1 (fun t -> t.Variance(c.Dims, c.KeepDim)) (uniform c.Seed 0 -2f 2f c.Shape)

[<PropertyTest(40)>]
let ``sumToShape sums a broadcast back`` (c: PairCase) = onEveryBackend <| fun () ->
    // SumToShape from the broadcast of A and B back to A
    let big = (uniform c.Seed 0 -1f 1f c.A + uniform c.Seed 1 -1f 1f c.B).Shape
    let x = uniform c.Seed 2 -2f 2f big
    Assert.Equal<int[]>(c.A, x.SumToShape(c.A).Shape)
    FiniteDiff.check1 (fun t -> t.SumToShape(c.A)) x

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``reductions compute the right values`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 2, 3)
    Assert.Equal(21f, x.Sum().ToScalar())
    Assert.Equal<float32[]>([| 5f; 7f; 9f |], x.Sum(0).ToArray())
    Assert.Equal<int[]>([| 1; 3 |], x.Sum(0, true).Shape)
    Assert.Equal<float32[]>([| 6f; 15f |], x.Sum(-1).ToArray())
    Assert.Equal<float32[]>([| 2f; 5f |], x.Mean(1).ToArray())
    Assert.Equal(3.5f, x.Mean().ToScalar())
    Assert.Equal<float32[]>([| 2.25f; 2.25f; 2.25f |], x.Variance([| 0 |]).ToArray())
    Assert.Equal<float32[]>([| 6f; 15f |], x.SumToShape([| 2; 1 |]).ToArray())
    Assert.Equal<int[]>([||], x.Sum([| 0; 1 |]).Shape)
