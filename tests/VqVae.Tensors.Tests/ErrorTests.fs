/// Bad shapes and arguments give an ArgumentException (or a subclass) whose message names the op,
/// the argument, and the expected and actual values; never an IndexOutOfRange or NullReference.
module VqVae.Tensors.Tests.ErrorTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

/// Asserts f throws an ArgumentException (or subclass) whose message contains every fragment.
let private z (shape: int list) = Tensor.Zeros(List.toArray shape)

// ---------------------------------------------------------------- conv2d

[<Fact>]
let ``conv2d: input of the wrong rank`` () =
    let e = refusedSaying [ "conv2d"; "input"; "[N,Cin,H,W]"; "[3,5,5]" ] (fun () -> Tensor.Conv2d(z [ 3; 5; 5 ], z [ 2; 3; 3; 3 ]))
    Assert.Equal("input", e.ParamName)

[<Fact>]
let ``conv2d: weight of the wrong rank`` () =
    refusedSaying [ "conv2d"; "weight"; "[2,3,3]" ] (fun () -> Tensor.Conv2d(z [ 1; 3; 5; 5 ], z [ 2; 3; 3 ])) |> ignore

[<Fact>]
let ``conv2d: channel mismatch`` () =
    let e = refusedSaying [ "conv2d"; "weight"; "[Cout,3,Kh,Kw]"; "3 channels"; "[2,4,3,3]" ] (fun () -> Tensor.Conv2d(z [ 1; 3; 5; 5 ], z [ 2; 4; 3; 3 ]))
    Assert.Equal("weight", e.ParamName)

[<Fact>]
let ``conv2d: bad bias`` () =
    refusedSaying [ "conv2d"; "bias"; "[2]"; "[3]" ] (fun () -> Tensor.Conv2d(z [ 1; 3; 5; 5 ], z [ 2; 3; 3; 3 ], z [ 3 ])) |> ignore
    refusedSaying [ "conv2d"; "bias"; "[2]"; "[1,2]" ] (fun () -> Tensor.Conv2d(z [ 1; 3; 5; 5 ], z [ 2; 3; 3; 3 ], z [ 1; 2 ])) |> ignore

[<Fact>]
let ``conv2d: kernel larger than the padded input`` () =
    refusedSaying [ "conv2d"; "5×5"; "4×4"; "[1,1,4,4]" ] (fun () -> Tensor.Conv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 5; 5 ])) |> ignore
    // the dilation makes a 3×3 kernel span 5
    refusedSaying [ "conv2d"; "dilation 2" ] (fun () -> Tensor.Conv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], dilation = 2)) |> ignore

[<Fact>]
let ``conv2d: stride 0, negative padding, dilation 0`` () =
    let e = refusedSaying [ "conv2d"; "stride"; "≥ 1"; "(0," ] (fun () -> Tensor.Conv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], stride = 0))
    Assert.IsType<ArgumentOutOfRangeException>(e) |> ignore
    refusedSaying [ "conv2d"; "padding"; "(1,-1)" ] (fun () -> Tensor.Conv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], null, 1, 1, 1, -1, 1, 1)) |> ignore
    refusedSaying [ "conv2d"; "dilation"; "(0,1)" ] (fun () -> Tensor.Conv2d(z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], null, 1, 1, 0, 0, 0, 1)) |> ignore

[<Fact>]
let ``conv2d: null input or weight`` () =
    Assert.Throws<ArgumentNullException>(fun () -> Tensor.Conv2d(Unchecked.defaultof<Tensor>, z [ 1; 1; 3; 3 ]) |> ignore) |> ignore
    Assert.Throws<ArgumentNullException>(fun () -> Tensor.Conv2d(z [ 1; 1; 3; 3 ], Unchecked.defaultof<Tensor>) |> ignore) |> ignore

// ---------------------------------------------------------------- convTranspose2d

[<Fact>]
let ``convTranspose2d: output padding not below stride or dilation`` () =
    let e = refusedSaying [ "convTranspose2d"; "outputPadding"; "(2,0)"; "stride (2,2)"; "dilation (1,1)" ] (fun () ->
        Tensor.ConvTranspose2d(z [ 1; 1; 3; 3 ], z [ 1; 1; 3; 3 ], null, 2, 2, 0, 0, 2, 0, 1, 1))
    Assert.Equal("outputPadding", e.ParamName)
    refusedSaying [ "outputPadding" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 1; 3; 3 ], z [ 1; 1; 3; 3 ], outputPadding = 1)) |> ignore
    refusedSaying [ "outputPadding" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 1; 3; 3 ], z [ 1; 1; 3; 3 ], outputPadding = -1)) |> ignore

[<Fact>]
let ``convTranspose2d: output padding allowed by the dilation alone`` () =
    // stride 1, dilation 2: output padding 1 is fine (PyTorch's rule)
    let y = Tensor.ConvTranspose2d(z [ 1; 1; 3; 3 ], z [ 1; 1; 3; 3 ], outputPadding = 1, dilation = 2)
    Assert.Equal<int[]>([| 1; 1; 8; 8 |], y.Shape)

[<Fact>]
let ``convTranspose2d: channel mismatch, bad bias, wrong rank, too much padding`` () =
    refusedSaying [ "convTranspose2d"; "weight"; "[2,Cout,Kh,Kw]"; "[3,1,3,3]" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 2; 3; 3 ], z [ 3; 1; 3; 3 ])) |> ignore
    refusedSaying [ "convTranspose2d"; "bias"; "[4]"; "[2]" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 2; 3; 3 ], z [ 2; 4; 3; 3 ], z [ 2 ])) |> ignore
    refusedSaying [ "convTranspose2d"; "input"; "[2,3,3]" ] (fun () -> Tensor.ConvTranspose2d(z [ 2; 3; 3 ], z [ 2; 4; 3; 3 ])) |> ignore
    refusedSaying [ "convTranspose2d"; "padding" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 1; 1; 1 ], z [ 1; 1; 1; 1 ], padding = 1)) |> ignore
    refusedSaying [ "convTranspose2d"; "stride" ] (fun () -> Tensor.ConvTranspose2d(z [ 1; 1; 1; 1 ], z [ 1; 1; 1; 1 ], stride = 0)) |> ignore

// ---------------------------------------------------------------- linear, elementwise, shape

[<Fact>]
let ``matmul: inner dimensions differ`` () =
    refusedSaying [ "matmul"; "[2,3]"; "[4,5]"; "3 vs 4" ] (fun () -> Tensor.MatMul(z [ 2; 3 ], z [ 4; 5 ])) |> ignore
    refusedSaying [ "matmul"; "[3,2]ᵀ"; "[4,5]" ] (fun () -> Tensor.MatMulT(z [ 3; 2 ], z [ 4; 5 ], true, false)) |> ignore
    refusedSaying [ "matmul"; "a must be 2-D"; "[2,3,4]" ] (fun () -> Tensor.MatMul(z [ 2; 3; 4 ], z [ 4; 5 ])) |> ignore
    refusedSaying [ "matmul"; "b must be 2-D"; "[4]" ] (fun () -> Tensor.MatMul(z [ 2; 4 ], z [ 4 ])) |> ignore
    // Whole sentences: the transposed side (and only it) marked ᵀ, the argument named.
    refusedAs<ArgumentException> "b" "matmul: inner dimensions differ: a is [2,3], b is [2,4]ᵀ (3 vs 4)." (fun () -> Tensor.MatMulT(z [ 2; 3 ], z [ 2; 4 ], false, true)) |> ignore
    refusedAs<ArgumentException> "b" "matmul: inner dimensions differ: a is [3,2]ᵀ, b is [4,5] (3 vs 4)." (fun () -> Tensor.MatMulT(z [ 3; 2 ], z [ 4; 5 ], true, false)) |> ignore
    refusedAs<ArgumentException> "a" "matmul: a must be 2-D, got shape [2,3,4]." (fun () -> Tensor.MatMul(z [ 2; 3; 4 ], z [ 4; 5 ])) |> ignore
    refusedAs<ArgumentException> "b" "matmul: b must be 2-D, got shape [4]." (fun () -> Tensor.MatMul(z [ 2; 4 ], z [ 4 ])) |> ignore
    Assert.Equal("a", nullArgumentOf (fun () -> Tensor.MatMulT(Unchecked.defaultof<Tensor>, z [ 2; 2 ], false, false)))
    Assert.Equal("b", nullArgumentOf (fun () -> Tensor.MatMulT(z [ 2; 2 ], Unchecked.defaultof<Tensor>, false, false)))

[<Fact>]
let ``broadcasting mismatch names both shapes`` () =
    refusedSaying [ "add"; "[2,3]"; "[4]"; "3 vs 4" ] (fun () -> z [ 2; 3 ] + z [ 4 ]) |> ignore
    refusedSaying [ "mul"; "[2,3]"; "[3,3]" ] (fun () -> z [ 2; 3 ] * z [ 3; 3 ]) |> ignore
    refusedSaying [ "sub" ] (fun () -> z [ 2 ] - z [ 3 ]) |> ignore
    refusedSaying [ "div" ] (fun () -> z [ 2 ] / z [ 3 ]) |> ignore
    refusedSaying [ "pow" ] (fun () -> Tensor.Pow(z [ 2 ], z [ 3 ])) |> ignore

[<Fact>]
let ``reshape: size mismatch and bad -1`` () =
    refusedSaying [ "reshape"; "[4,2]"; "8"; "[2,3]"; "6" ] (fun () -> (z [ 2; 3 ]).Reshape(4, 2)) |> ignore
    refusedSaying [ "reshape"; "-1" ] (fun () -> (z [ 2; 3 ]).Reshape(-1, -1)) |> ignore
    refusedSaying [ "reshape"; "[-1,4]"; "6" ] (fun () -> (z [ 2; 3 ]).Reshape(-1, 4)) |> ignore
    refusedSaying [ "reshape" ] (fun () -> (z [ 2; 3 ]).Reshape(-2, -3)) |> ignore

[<Fact>]
let ``permute: not a permutation, wrong length, dim out of range`` () =
    refusedSaying [ "permute"; "permutation"; "[0,0,1]" ] (fun () -> (z [ 2; 3; 4 ]).Permute(0, 0, 1)) |> ignore
    refusedSaying [ "permute"; "3 dimensions"; "[2,3,4]"; "[1,0]" ] (fun () -> (z [ 2; 3; 4 ]).Permute(1, 0)) |> ignore
    refusedSaying [ "permute"; "perm"; "3" ] (fun () -> (z [ 2; 3; 4 ]).Permute(0, 1, 3)) |> ignore
    refusedSaying [ "transpose"; "dim1"; "5" ] (fun () -> (z [ 2; 3 ]).Transpose(0, 5)) |> ignore

[<Fact>]
let ``expand: not a broadcast of the shape`` () =
    refusedSaying [ "expand"; "[2,3]"; "[2,4]" ] (fun () -> (z [ 2; 3 ]).Expand(2, 4)) |> ignore
    refusedSaying [ "expand"; "[2,3]"; "[3]" ] (fun () -> (z [ 2; 3 ]).Expand(3)) |> ignore

[<Fact>]
let ``sum and mean: dims out of range or repeated`` () =
    refusedSaying [ "sum"; "dims"; "[-2, 1]"; "3" ] (fun () -> (z [ 2; 3 ]).Sum(3)) |> ignore
    refusedSaying [ "sum"; "distinct"; "[0,-2]" ] (fun () -> (z [ 2; 3 ]).Sum([| 0; -2 |])) |> ignore
    refusedSaying [ "mean"; "dims" ] (fun () -> (z [ 2; 3 ]).Mean(-3)) |> ignore
    refusedSaying [ "sumToShape"; "[2,3]"; "[4]" ] (fun () -> (z [ 2; 3 ]).SumToShape([| 4 |])) |> ignore

[<Fact>]
let ``narrow out of range`` () =
    let e = refusedSaying [ "narrow"; "[2, 5)"; "dimension 0"; "[0, 4)"; "[4,3]" ] (fun () -> (z [ 4; 3 ]).Narrow(0, 2, 3))
    Assert.IsType<ArgumentOutOfRangeException>(e) |> ignore
    refusedSaying [ "narrow"; "[1, 4)"; "dimension 1"; "[0, 3)" ] (fun () -> (z [ 4; 3 ]).Narrow(-1, 1, 3)) |> ignore
    refusedSaying [ "narrow" ] (fun () -> (z [ 4; 3 ]).Narrow(0, -1, 1)) |> ignore
    refusedSaying [ "narrow" ] (fun () -> (z [ 4; 3 ]).Narrow(1, 0, -1)) |> ignore
    refusedSaying [ "narrow"; "dim"; "rank 2" ] (fun () -> (z [ 4; 3 ]).Narrow(2, 0, 1)) |> ignore

[<Fact>]
let ``cat: parts that disagree beyond dim 0`` () =
    refusedSaying [ "cat"; "parts[1]"; "[2,4]"; "[*,3]" ] (fun () -> Tensor.Cat([| z [ 1; 3 ]; z [ 2; 4 ] |])) |> ignore
    refusedSaying [ "cat"; "at least one" ] (fun () -> Tensor.Cat([||])) |> ignore
    refusedSaying [ "cat"; "scalars" ] (fun () -> Tensor.Cat([| z []; z [] |])) |> ignore
    refusedSaying [ "cat"; "parts[1]"; "[3,2]"; "[2,*]"; "dimension 1" ] (fun () -> Tensor.Cat([| z [ 2; 3 ]; z [ 3; 2 ] |], 1)) |> ignore
    refusedSaying [ "cat"; "dim"; "rank 2" ] (fun () -> Tensor.Cat([| z [ 2; 3 ]; z [ 2; 3 ] |], 2)) |> ignore

[<Fact>]
let ``fromArray and clamp arguments`` () =
    refusedSaying [ "fromArray"; "5 values"; "[2,3]"; "6" ] (fun () -> Tensor.FromArray(Array.zeroCreate 5, 2, 3)) |> ignore
    refusedSaying [ "fromArray"; "non-negative"; "[-1,2]" ] (fun () -> Tensor.FromArray([||], -1, 2)) |> ignore
    refusedSaying [ "clamp"; "lo = 2"; "hi = 1" ] (fun () -> (z [ 2 ]).Clamp(2f, 1f)) |> ignore

// ---------------------------------------------------------------- indices

[<Fact>]
let ``gather index out of range`` () =
    let e = refusedSaying [ "gatherRows"; "indices[1] = 5"; "[0, 3]" ] (fun () -> (z [ 4; 2 ]).GatherRows([| 0; 5 |]))
    Assert.IsType<ArgumentOutOfRangeException>(e) |> ignore
    refusedSaying [ "gatherRows"; "indices[0] = -1" ] (fun () -> (z [ 4; 2 ]).GatherRows([| -1 |])) |> ignore
    refusedSaying [ "gatherRows"; "2-D"; "[4]" ] (fun () -> (z [ 4 ]).GatherRows([| 0 |])) |> ignore

[<Fact>]
let ``scatterAddRows: index out of range and wrong count`` () =
    refusedSaying [ "scatterAddRows"; "indices[0] = 3"; "[0, 2]" ] (fun () -> (z [ 1; 2 ]).ScatterAddRows([| 3 |], 3)) |> ignore
    refusedSaying [ "scatterAddRows"; "expected 2 indices"; "got 1" ] (fun () -> (z [ 2; 2 ]).ScatterAddRows([| 0 |], 3)) |> ignore
    refusedSaying [ "scatterAddRows"; "rows" ] (fun () -> (z [ 1; 2 ]).ScatterAddRows([| 0 |], -1)) |> ignore

[<Fact>]
let ``oneHot and nearestRows arguments`` () =
    refusedSaying [ "oneHot"; "indices[0] = 3"; "[0, 2]" ] (fun () -> Tensor.OneHot([| 3 |], 3)) |> ignore
    refusedSaying [ "oneHot"; "k" ] (fun () -> Tensor.OneHot([| 0 |], 0)) |> ignore
    refusedSaying [ "nearestRows"; "codebook"; "[K,3]"; "[4,2]" ] (fun () -> (z [ 5; 3 ]).NearestRows(z [ 4; 2 ])) |> ignore
    refusedSaying [ "nearestRows"; "NaN" ] (fun () -> (Tensor.Full(nan |> float32, 2, 3)).NearestRows(z [ 4; 3 ])) |> ignore

[<Fact>]
let ``null operands are named`` () =
    let x = z [ 2 ]
    let nul = Unchecked.defaultof<Tensor>
    Assert.Equal("a", nullArgumentOf (fun () -> nul + x))
    Assert.Equal("b", nullArgumentOf (fun () -> x * nul))
    Assert.Equal("a", nullArgumentOf (fun () -> Tensor.Pow(nul, 2f)))
    Assert.Equal("dims", nullArgumentOf (fun () -> x.Sum(Unchecked.defaultof<int[]>)))
    Assert.Equal("shape", nullArgumentOf (fun () -> x.SumToShape(Unchecked.defaultof<int[]>)))

[<Fact>]
let ``mean of nothing and sumToShape to a larger rank`` () =
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 0; 3 ]).Mean() |> ignore)
    Assert.Equal("mean: the tensor is empty.", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 0; 3 ]).Mean(0) |> ignore)
    Assert.Equal("mean: the reduced dimensions of shape [0,3] are empty.", e.Message)
    // the dimension that is not reduced may be empty: the mean over the other is then empty too
    Assert.Equal<int[]>([| 0 |], (z [ 0; 3 ]).Mean(1).Shape)
    refusedSaying [ "sumToShape"; "[2,3]"; "larger rank"; "[1,2,3]" ] (fun () -> (z [ 2; 3 ]).SumToShape([| 1; 2; 3 |])) |> ignore

[<Fact>]
let ``toScalar of more than one element`` () =
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 2 ]).ToScalar() |> ignore)
    Assert.Equal("toScalar: expected a tensor with one element, got shape [2].", e.Message)
    Assert.Equal(5f, Tensor.Full(5f, 1, 1).ToScalar())

[<Fact>]
let ``null indices, codebooks, shapes and parts are named`` () =
    let nulInts = Unchecked.defaultof<int[]>
    Assert.Equal("indices", nullArgumentOf (fun () -> (z [ 2; 2 ]).GatherRows nulInts))
    Assert.Equal("indices", nullArgumentOf (fun () -> (z [ 2; 2 ]).ScatterAddRows(nulInts, 2)))
    Assert.Equal("indices", nullArgumentOf (fun () -> Tensor.OneHot(nulInts, 2)))
    Assert.Equal("codebook", nullArgumentOf (fun () -> (z [ 2; 2 ]).NearestRows(Unchecked.defaultof<Tensor>)))
    Assert.Equal("shape", nullArgumentOf (fun () -> (z [ 2; 2 ]).Reshape nulInts))
    Assert.Equal("shape", nullArgumentOf (fun () -> (z [ 2; 2 ]).Expand nulInts))
    Assert.Equal("perm", nullArgumentOf (fun () -> (z [ 2; 2 ]).Permute nulInts))
    Assert.Equal("parts", nullArgumentOf (fun () -> Tensor.Cat(Unchecked.defaultof<Tensor[]>)))
    let e = Assert.Throws<ArgumentNullException>(fun () -> Tensor.Cat([| z [ 2 ]; Unchecked.defaultof<Tensor> |]) |> ignore)
    Assert.Equal("parts", e.ParamName)
    Assert.StartsWith("cat: parts[1] is null.", e.Message)
    Assert.Equal("weight", nullArgumentOf (fun () -> Tensor.MaskedConv2d(z [ 1; 1; 3; 3 ], Unchecked.defaultof<Tensor>, z [ 3; 3 ])))
    Assert.Equal("mask", nullArgumentOf (fun () -> Tensor.MaskedConv2d(z [ 1; 1; 3; 3 ], z [ 1; 1; 3; 3 ], Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``row ops: wrong ranks, empty rows, non-finite values`` () =
    refusedSaying [ "scatterAddRows"; "2-D [M,D]"; "[3]" ] (fun () -> (z [ 3 ]).ScatterAddRows([| 0; 0; 0 |], 1)) |> ignore
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 3 ]).ArgMinRows() |> ignore)
    Assert.Equal("argMinRows: expected a 2-D tensor with at least one column, got [3].", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 2; 0 ]).ArgMinRows() |> ignore)
    Assert.Equal("argMinRows: expected a 2-D tensor with at least one column, got [2,0].", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> Tensor.FromArray([| 1f; infinityf |], 1, 2).ArgMinRows() |> ignore)
    Assert.Equal("argMinRows: the tensor holds NaN or infinity.", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 2 ]).NearestRows(z [ 1; 2 ]) |> ignore)
    Assert.Equal("nearestRows: rows must be 2-D [N,D], got [2].", e.Message)
    let e = refusedSaying [ "nearestRows: the codebook holds NaN or infinity." ] (fun () -> (z [ 1; 2 ]).NearestRows(Tensor.FromArray([| nanf; 0f |], 1, 2)))
    Assert.Equal("codebook", e.ParamName)

[<Fact>]
let ``shape ops: two inferred dimensions, T of a 3-D tensor, narrow of a scalar, bad dims name the op`` () =
    let e = refusedSaying [ "reshape: at most one dimension may be -1, got [-1,2,-1]." ] (fun () -> (z [ 2; 2 ]).Reshape(-1, 2, -1))
    Assert.Equal("shape", e.ParamName)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (z [ 2; 3; 4 ]).T |> ignore)
    Assert.Equal("T: expected a 2-D tensor, got shape [2,3,4].", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (Tensor.Scalar 1f).Narrow(0, 0, 1) |> ignore)
    Assert.Equal("narrow: a scalar has no dimension to narrow.", e.Message)
    refusedSaying [ "transpose: dim1 must be in [-2, 1]" ] (fun () -> (z [ 2; 3 ]).Transpose(0, 2)) |> ignore
    let e = refusedSaying [ "transpose: dim0 must be in [-2, 1] for a tensor of rank 2, got -3." ] (fun () -> (z [ 2; 3 ]).Transpose(-3, 0))
    Assert.Equal("dim0", e.ParamName)
    refusedSaying [ "permute: perm must be in [-2, 1]" ] (fun () -> (z [ 2; 3 ]).Permute(0, 2)) |> ignore

[<Fact>]
let ``maskedConv2d and gate arguments`` () =
    let e = refusedSaying [ "maskedConv2d: mask of shape [3,3] must broadcast to the weight's [2,1,1,3]." ] (fun () -> Tensor.MaskedConv2d(z [ 1; 1; 3; 3 ], z [ 2; 1; 1; 3 ], z [ 3; 3 ]))
    Assert.Equal("mask", e.ParamName)
    let e = Assert.Throws<InvalidOperationException>(fun () -> (Tensor.Scalar 1f).Gate() |> ignore)
    Assert.Equal("gate: a scalar has no channel dimension.", e.Message)
    refusedSaying [ "gate: dim must be in [-2, 1]" ] (fun () -> (z [ 2; 4 ]).Gate(2)) |> ignore

[<Fact>]
let ``indexer: wrong arity and out of range`` () =
    refusedSaying [ "index"; "2 indices"; "[2,3]"; "got 1" ] (fun () -> (z [ 2; 3 ]).[1]) |> ignore
    refusedSaying [ "index"; "position 1"; "[0, 2]"; "got 3" ] (fun () -> (z [ 2; 3 ]).[1, 3]) |> ignore

// ---------------------------------------------------------------- fuzz: only argument exceptions

/// Runs f and accepts success or an ArgumentException naming the op; anything else fails the property.
let private onlyArgumentErrors (op: string) (f: unit -> Tensor) =
    try f () |> ignore
    with
    | :? ArgumentException as e when e.Message.Contains(op) -> ()
    | e -> failwithf "%s threw %s: %s" op (e.GetType().Name) e.Message

let private genDims = Gen.arrayOf (Gen.choose (0, 4)) |> Gen.map (Array.truncate 5)
let private genSmall = Gen.choose (-1, 3)

[<PropertyTest(300)>]
let ``conv2d and convTranspose2d with arbitrary arguments throw only argument errors`` () =
    let g = Gen.zip3 (Gen.zip3 genDims genDims (Gen.optionOf genDims)) (Gen.arrayOfLength 6 genSmall) (Gen.arrayOfLength 2 genSmall)
    Prop.forAll (Arb.fromGen g) (fun ((xs, ws, bs), hp, op) ->
        let b: Tensor | null = match bs with Some s -> Tensor.Zeros(s) | None -> null
        onlyArgumentErrors "conv2d" (fun () -> Tensor.Conv2d(Tensor.Zeros(xs), Tensor.Zeros(ws), b, hp[0], hp[1], hp[2], hp[3], hp[4], hp[5]))
        onlyArgumentErrors "convTranspose2d" (fun () ->
            Tensor.ConvTranspose2d(Tensor.Zeros(xs), Tensor.Zeros(ws), b, hp[0], hp[1], hp[2], hp[3], op[0], op[1], hp[4], hp[5])))

[<PropertyTest(300)>]
let ``shape ops with arbitrary arguments throw only argument errors`` () =
    let g = Gen.zip3 genDims genDims (Gen.arrayOf (Gen.choose (-5, 5)))
    Prop.forAll (Arb.fromGen g) (fun (a, b, ints) ->
        let x, y = Tensor.Zeros(a), Tensor.Zeros(b)
        onlyArgumentErrors "matmul" (fun () -> Tensor.MatMul(x, y))
        onlyArgumentErrors "add" (fun () -> x + y)
        onlyArgumentErrors "reshape" (fun () -> x.Reshape(ints))
        onlyArgumentErrors "permute" (fun () -> x.Permute(ints))
        onlyArgumentErrors "expand" (fun () -> x.Expand(b))
        onlyArgumentErrors "sum" (fun () -> x.Sum(ints))
        if a.Length > 0 && ints.Length >= 3 then onlyArgumentErrors "narrow" (fun () -> x.Narrow(ints[0], ints[1], ints[2]))
        if a.Length > 0 && ints.Length >= 1 then onlyArgumentErrors "cat" (fun () -> Tensor.Cat([| x; y |], ints[0]))
        if a.Length = 2 then onlyArgumentErrors "gatherRows" (fun () -> x.GatherRows(ints)))
