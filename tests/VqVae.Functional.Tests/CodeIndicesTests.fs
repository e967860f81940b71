/// CodeIndices, the [B,H,W] grid of code numbers that the quantizer returns and the prior reads and draws:
/// its layout, its checks, its counts and its equality.
module VqVae.Functional.Tests.CodeIndicesTests

open System
open System.Collections.Immutable
open Xunit
open VqVae.Functional.Quantization

[<Fact>]
let ``a grid is read at (b, h, w) row-major, and an index outside it on any axis is refused`` () =
    let c = CodeIndices.Of(Array.init 24 id, 2, 3, 4)
    for b in 0 .. 1 do
        for h in 0 .. 2 do
            for w in 0 .. 3 do Assert.Equal((b * 3 + h) * 4 + w, c[b, h, w])
    Assert.Equal<int[]>([| 2; 3; 4 |], c.Shape)
    Assert.Equal(24, c.Count)
    Assert.Equal<int[]>(Array.init 24 id, c.ToArray())
    for b, h, w in [ 2, 0, 0; 0, 3, 0; 0, 0, 4; -1, 0, 0; 0, -1, 0; 0, 0, -1 ] do
        let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> c[b, h, w] |> ignore)
        Assert.Contains($"codeIndices: ({b}, {h}, {w}) is outside [2, 3, 4].", e.Message)

[<Fact>]
let ``a grid refuses a size below 1, a wrong number of values and a negative code, by name`` () =
    for b, h, w in [ 0, 1, 1; 1, 0, 1; 1, 1, 0; -1, 2, 2 ] do
        let e = Assert.Throws<ArgumentException>(fun () -> CodeIndices(ImmutableArray.Create<int>(), b, h, w) |> ignore)
        Assert.Equal("batch", e.ParamName)
        Assert.Contains($"codeIndices: batch, height and width must be ≥ 1, got [{b}, {h}, {w}].", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> CodeIndices.Of(Array.zeroCreate 5, 1, 2, 3) |> ignore)
    Assert.Equal("values", e.ParamName)
    Assert.Contains("codeIndices: expected 6 values for shape [1, 2, 3], got 5.", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> CodeIndices(Unchecked.defaultof<ImmutableArray<int>>, 1, 2, 3) |> ignore)
    Assert.Contains("codeIndices: expected 6 values for shape [1, 2, 3], got 0.", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> CodeIndices.Of([| 0; 3; -2 |], 1, 1, 3) |> ignore)
    Assert.Equal("values", e.ParamName)
    Assert.Contains("codeIndices: indices must be ≥ 0, got -2.", e.Message)
    Assert.Equal("values", Assert.Throws<ArgumentNullException>(fun () -> CodeIndices.Of(Unchecked.defaultof<int[]>, 1, 1, 1) |> ignore).ParamName)

[<Fact>]
let ``counts say how many positions use each code, for a codebook of at least one code`` () =
    let c = CodeIndices.Of([| 0; 2; 2; 1; 2; 0 |], 1, 2, 3)
    Assert.Equal<int[]>([| 2; 1; 3; 0 |], c.Counts 4)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> c.Counts 0 |> ignore)
    Assert.Equal("codebookSize", e.ParamName)
    Assert.StartsWith("counts: codebookSize must be ≥ 1.", e.Message)

[<Fact>]
let ``grids are equal when their shapes and values are, and equal grids hash alike`` () =
    let values = [| 1; 2; 3; 4; 5; 6 |]
    let a = CodeIndices.Of(values, 1, 2, 3)
    let same = CodeIndices.Of(Array.copy values, 1, 2, 3)
    Assert.True(a.Equals same)
    Assert.Equal(a, same)
    Assert.Equal(a.GetHashCode(), same.GetHashCode())
    // The same values in another shape, and the same shape with other values, are other grids.
    for other in [ CodeIndices.Of(values, 1, 3, 2); CodeIndices.Of(values, 2, 1, 3); CodeIndices.Of(values, 6, 1, 1)
                   CodeIndices.Of([| 1; 2; 3; 4; 5; 7 |], 1, 2, 3) ] do
        Assert.False(a.Equals other, $"{a.Shape} = {other.Shape}")
    Assert.False(a.Equals(null: CodeIndices | null))
    // A hash that ignored the values would put every grid of a shape in one bucket (a collision is 2^-32 here).
    Assert.NotEqual(a.GetHashCode(), CodeIndices.Of([| 1; 2; 3; 4; 5; 7 |], 1, 2, 3).GetHashCode())
