/// Making tensors (Core/Tensor.Create.cs) and the Adam update's argument checks: each constructor's refusals
/// named by the operation and the argument, copies of the caller's arrays, the backend overloads; the shape
/// utility's size limit. Written against the survivors of the first mutation run of the Core folder.
module VqVae.Tensors.Tests.CreationTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.Refusals

[<Fact>]
let ``each constructor names itself and the shape argument when a dimension is negative`` () =
    for op, f in [ "fromArray", (fun () -> Tensor.FromArray([||], 2, -1))
                   "fromArray", (fun () -> Tensor.FromArray(Backend.Cpu, [||], 2, -1))
                   "full", (fun () -> Tensor.Full(1f, 2, -1))
                   "full", (fun () -> Tensor.Full(Backend.Cpu, 1f, 2, -1))
                   "uniform", (fun () -> Tensor.Uniform(Rng.Seed 1L, 0f, 1f, 2, -1))
                   "normal", (fun () -> Tensor.Normal(Rng.Seed 1L, 0f, 1f, 2, -1)) ] do
        refusedAs<ArgumentException> "shape" $"{op}: shape must have non-negative dimensions, got [2,-1]." (fun () -> f ()) |> ignore

[<Fact>]
let ``arrays are copied in, the length must match the shape, and null arguments are named`` () =
    let data = [| 1f; 2f; 3f; 4f |]
    let shape = [| 2; 2 |]
    for t in [ Tensor.FromArray(data, shape); Tensor.FromArray(Backend.Cpu, data, shape) ] do
        data[0] <- 9f
        shape[0] <- 4
        Assert.Equal<float32[]>([| 1f; 2f; 3f; 4f |], t.ToArray())
        Assert.Equal<int[]>([| 2; 2 |], t.Shape)
        data[0] <- 1f
        shape[0] <- 2
    refusedAs<ArgumentException> "data" "fromArray: data has 3 values but shape [2,2] needs 4." (fun () -> Tensor.FromArray(Backend.Cpu, [| 1f; 2f; 3f |], 2, 2)) |> ignore
    Assert.Equal("data", nullArgumentOf (fun () -> Tensor.FromArray(Unchecked.defaultof<float32[]>, 1)))
    Assert.Equal("data", nullArgumentOf (fun () -> Tensor.FromArray(Backend.Cpu, Unchecked.defaultof<float32[]>, 1)))
    Assert.Equal("backend", nullArgumentOf (fun () -> Tensor.FromArray(Unchecked.defaultof<Backend>, [| 1f |], 1)))
    Assert.Equal("backend", nullArgumentOf (fun () -> Tensor.Full(Unchecked.defaultof<Backend>, 1f, 1)))
    Assert.Equal("like", nullArgumentOf (fun () -> Tensor.ZerosLike(Unchecked.defaultof<Tensor>)))
    Assert.Equal("like", nullArgumentOf (fun () -> Tensor.OnesLike(Unchecked.defaultof<Tensor>)))
    let like = Tensor.Uniform(Rng.Seed 2L, -1f, 1f, 2, 3)
    Assert.Equal<float32[]>(Array.zeroCreate 6, (Tensor.ZerosLike like).ToArray())
    Assert.Equal<float32[]>(Array.create 6 1f, (Tensor.OnesLike like).ToArray())
    Assert.Equal<int[]>([| 2; 3 |], (Tensor.OnesLike like).Shape)
    Assert.Equal<float32[]>(Array.create 6 2.5f, (Tensor.Full(Backend.Cpu, 2.5f, 2, 3)).ToArray())

[<Fact>]
let ``the Adam update names a gradient or moment of another shape, a step below 1, and null arguments`` () =
    let p = Tensor.Zeros(2, 3)
    let ok = Tensor.Zeros(2, 3)
    let bad = Tensor.Zeros(3, 2)
    let update (g: Tensor) (m: Tensor) (v: Tensor) step = let struct (q, _, _) = Tensor.AdamUpdate(p, g, m, v, step, 0.1f) in q
    refusedAs<ArgumentException> "grad" "adamUpdate: grad has shape [3,2], the parameter [2,3]." (fun () -> update bad ok ok 1) |> ignore
    refusedAs<ArgumentException> "m" "adamUpdate: m has shape [3,2], the parameter [2,3]." (fun () -> update ok bad ok 1) |> ignore
    refusedAs<ArgumentException> "v" "adamUpdate: v has shape [3,2], the parameter [2,3]." (fun () -> update ok ok bad 1) |> ignore
    refusedAs<ArgumentOutOfRangeException> "step" "adamUpdate: step must be ≥ 1." (fun () -> update ok ok ok 0) |> ignore
    Assert.Equal("param", nullArgumentOf (fun () -> Tensor.AdamUpdate(Unchecked.defaultof<Tensor>, ok, ok, ok, 1, 0.1f)))
    Assert.Equal("grad", nullArgumentOf (fun () -> Tensor.AdamUpdate(p, Unchecked.defaultof<Tensor>, ok, ok, 1, 0.1f)))
    Assert.Equal("m", nullArgumentOf (fun () -> Tensor.AdamUpdate(p, ok, Unchecked.defaultof<Tensor>, ok, 1, 0.1f)))
    Assert.Equal("v", nullArgumentOf (fun () -> Tensor.AdamUpdate(p, ok, ok, Unchecked.defaultof<Tensor>, 1, 0.1f)))

[<Fact>]
let ``a shape of more than 2^31 − 1 elements is refused with its size; exactly 2^31 − 1 is counted`` () =
    refusedSaying [ "shape [65536,32768] has 2147483648 elements, more than a tensor can hold." ] (fun () -> ShapeUtil.Size(ReadOnlySpan [| 65536; 32768 |])) |> ignore
    Assert.Equal(Int32.MaxValue, ShapeUtil.Size(ReadOnlySpan [| Int32.MaxValue |]))
    Assert.Equal(1, ShapeUtil.Size(ReadOnlySpan<int>([||])))
