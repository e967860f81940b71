/// What a tensor shows and hands back: its text form, elements by multi-index, and stop-gradient
/// of an untracked tensor.
module VqVae.Tensors.Tests.TensorTests

open Xunit
open VqVae.Tensors

[<Fact>]
let ``toString shows the shape and at most eight values, in G6`` () =
    Assert.Equal("Tensor[3] [1, -2.5, 0.333333]", Tensor.FromArray([| 1f; -2.5f; 1f / 3f |], 3).ToString())
    Assert.Equal("Tensor[2,4] [0, 1, 2, 3, 4, 5, 6, 7]", Tensor.FromArray(Array.init 8 float32, 2, 4).ToString())
    Assert.Equal("Tensor[3,3] [0, 1, 2, 3, 4, 5, 6, 7, …]", Tensor.FromArray(Array.init 9 float32, 3, 3).ToString())
    Assert.Equal("Tensor[] [7]", (Tensor.Scalar 7f).ToString())
    Assert.Equal("Tensor[0] []", (Tensor.Zeros 0).ToString())

[<Fact>]
let ``the indexer reads the row-major element at a multi-index`` () =
    let t = Tensor.FromArray(Array.init 24 float32, 2, 3, 4)
    for i in 0 .. 1 do
        for j in 0 .. 2 do
            for k in 0 .. 3 do
                Assert.Equal(float32 (i * 12 + j * 4 + k), t.[i, j, k])
    Assert.Equal(3f, (Tensor.Scalar 3f).Item([||]))
    for bad in [ [| 2; 0; 0 |]; [| 0; 3; 0 |]; [| 0; 0; 4 |]; [| -1; 0; 0 |] ] do
        Assert.Throws<System.ArgumentOutOfRangeException>(fun () -> t.Item(bad) |> ignore) |> ignore

[<Fact>]
let ``noDiff of an untracked tensor is the tensor itself, not a copy`` () =
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    Assert.Same(x, x.NoDiff())
