/// The convolutions' argument checks (Core/ConvChecks.cs) in full: every refusal's parameter and whole message,
/// each condition alone (height and width separately, each hyper-parameter's second value), and the bounds that
/// are accepted (a kernel exactly as large as the padded input, output padding below stride or dilation).
module VqVae.Tensors.Tests.ConvChecksTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.Refusals

let private z (shape: int list) = Tensor.Zeros(Array.ofList shape)
let private conv (x: Tensor) (w: Tensor) (b: Tensor | null) (s: int * int) (p: int * int) (d: int * int) =
    Tensor.Conv2d(x, w, b, fst s, snd s, fst p, snd p, fst d, snd d)
let private convT (x: Tensor) (w: Tensor) (b: Tensor | null) (s: int * int) (p: int * int) (op: int * int) (d: int * int) =
    Tensor.ConvTranspose2d(x, w, b, fst s, snd s, fst p, snd p, fst op, snd op, fst d, snd d)
let private one = (1, 1)
let private none = (0, 0)

[<Fact>]
let ``a convolution names a bad input, weight or bias shape in a whole sentence`` () =
    let x, w = z [ 1; 3; 5; 5 ], z [ 2; 3; 3; 3 ]
    refusedAs<ArgumentException> "input" "conv2d: input must be [N,Cin,H,W], got [3,5,5]." (fun () -> conv (z [ 3; 5; 5 ]) w null one none one) |> ignore
    refusedAs<ArgumentException> "weight" "conv2d: weight must be [Cout,Cin,Kh,Kw], got [2,3,3]." (fun () -> conv x (z [ 2; 3; 3 ]) null one none one) |> ignore
    refusedAs<ArgumentException> "weight" "conv2d: weight must be [Cout,3,Kh,Kw] for an input with 3 channels, got [2,4,3,3]." (fun () -> conv x (z [ 2; 4; 3; 3 ]) null one none one) |> ignore
    refusedAs<ArgumentException> "bias" "conv2d: bias must be [2], got [1,2]." (fun () -> conv x w (z [ 1; 2 ]) one none one) |> ignore
    refusedAs<ArgumentException> "bias" "conv2d: bias must be [2], got [3]." (fun () -> conv x w (z [ 3 ]) one none one) |> ignore
    Assert.Equal("input", nullArgumentOf (fun () -> Tensor.Conv2d(Unchecked.defaultof<Tensor>, w)))
    Assert.Equal("weight", nullArgumentOf (fun () -> Tensor.Conv2d(x, Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``stride, padding and dilation are refused by name when either of their two values is out of range`` () =
    let x, w = z [ 1; 1; 5; 5 ], z [ 1; 1; 3; 3 ]
    for s, text in [ (0, 1), "(0,1)"; (1, 0), "(1,0)" ] do
        refusedAs<ArgumentOutOfRangeException> "stride" $"conv2d: stride must be ≥ 1, got {text}." (fun () -> conv x w null s none one) |> ignore
        refusedAs<ArgumentOutOfRangeException> "stride" $"convTranspose2d: stride must be ≥ 1, got {text}." (fun () -> convT x w null s none none one) |> ignore
    for p, text in [ (-1, 0), "(-1,0)"; (0, -1), "(0,-1)" ] do
        refusedAs<ArgumentOutOfRangeException> "padding" $"conv2d: padding must be ≥ 0, got {text}." (fun () -> conv x w null one p one) |> ignore
    for d, text in [ (0, 1), "(0,1)"; (1, 0), "(1,0)" ] do
        refusedAs<ArgumentOutOfRangeException> "dilation" $"conv2d: dilation must be ≥ 1, got {text}." (fun () -> conv x w null one none d) |> ignore

[<Fact>]
let ``a dilated kernel larger than the padded input is refused in either direction; exactly as large is one output`` () =
    let w5 = z [ 1; 1; 5; 5 ]
    refusedAs<ArgumentException> "weight" "conv2d: the dilated kernel 5×5 (dilation 1,1) is larger than the padded input 4×4 (input [1,1,4,4])." (fun () -> conv (z [ 1; 1; 4; 4 ]) w5 null one none one) |> ignore
    refusedAs<ArgumentException> "weight" "conv2d: the dilated kernel 5×5 (dilation 1,1) is larger than the padded input 5×4 (input [1,1,5,4])." (fun () -> conv (z [ 1; 1; 5; 4 ]) w5 null one none one) |> ignore
    refusedAs<ArgumentException> "weight" "conv2d: the dilated kernel 5×5 (dilation 1,1) is larger than the padded input 4×5 (input [1,1,4,5])." (fun () -> conv (z [ 1; 1; 4; 5 ]) w5 null one none one) |> ignore
    // Padding counts on both sides: a 2×2 input padded by 1 is 4×4.
    refusedAs<ArgumentException> "weight" "conv2d: the dilated kernel 5×5 (dilation 1,1) is larger than the padded input 4×4 (input [1,1,2,2])." (fun () -> conv (z [ 1; 1; 2; 2 ]) w5 null one one one) |> ignore
    // A 3×3 kernel dilated by 2 spans 5.
    refusedAs<ArgumentException> "weight" "conv2d: the dilated kernel 3×3 (dilation 2,2) is larger than the padded input 4×4 (input [1,1,4,4])." (fun () -> conv (z [ 1; 1; 4; 4 ]) (z [ 1; 1; 3; 3 ]) null one none (2, 2)) |> ignore
    Assert.Equal<int[]>([| 1; 1; 1; 1 |], (conv (z [ 1; 1; 5; 5 ]) w5 null one none one).Shape)
    Assert.Equal<int[]>([| 1; 1; 1; 1 |], (conv (z [ 1; 1; 3; 3 ]) w5 null one one one).Shape)
    Assert.Equal<int[]>([| 1; 1; 1; 1 |], (conv (z [ 1; 1; 5; 5 ]) (z [ 1; 1; 3; 3 ]) null one none (2, 2)).Shape)

[<Fact>]
let ``a transposed convolution names its bad shapes, output padding and an empty output`` () =
    let x, w = z [ 1; 3; 4; 4 ], z [ 3; 2; 3; 3 ]
    refusedAs<ArgumentException> "input" "convTranspose2d: input must be [N,Cin,H,W], got [3,4,4]." (fun () -> convT (z [ 3; 4; 4 ]) w null one none none one) |> ignore
    refusedAs<ArgumentException> "weight" "convTranspose2d: weight must be [Cin,Cout,Kh,Kw], got [3,2,3]." (fun () -> convT x (z [ 3; 2; 3 ]) null one none none one) |> ignore
    refusedAs<ArgumentException> "weight" "convTranspose2d: weight must be [3,Cout,Kh,Kw] for an input with 3 channels, got [2,2,3,3]." (fun () -> convT x (z [ 2; 2; 3; 3 ]) null one none none one) |> ignore
    refusedAs<ArgumentException> "bias" "convTranspose2d: bias must be [2], got [3]." (fun () -> convT x w (z [ 3 ]) one none none one) |> ignore
    Assert.Equal("input", nullArgumentOf (fun () -> Tensor.ConvTranspose2d(Unchecked.defaultof<Tensor>, w)))
    Assert.Equal("weight", nullArgumentOf (fun () -> Tensor.ConvTranspose2d(x, Unchecked.defaultof<Tensor>)))
    // Output padding must be ≥ 0 and below the stride or the dilation, in each direction.
    let refusedOp (op: int * int) (s: int * int) (d: int * int) =
        let text = $"convTranspose2d: outputPadding must be non-negative and smaller than stride or dilation, got ({fst op},{snd op}) with stride ({fst s},{snd s}) and dilation ({fst d},{snd d})."
        refusedAs<ArgumentOutOfRangeException> "outputPadding" text (fun () -> convT x w null s none op d) |> ignore
    refusedOp (-1, 0) (2, 2) one
    refusedOp (0, -1) (2, 2) one
    refusedOp (1, 0) one one            // not below stride 1 nor dilation 1
    refusedOp (0, 1) one one
    refusedOp (2, 0) (2, 2) one
    refusedOp (0, 2) (2, 2) (2, 2)
    Assert.Equal<int[]>([| 1; 2; 10; 10 |], (convT x w null (2, 2) none one one).Shape)          // below the stride
    Assert.Equal<int[]>([| 1; 2; 9; 9 |], (convT x w null one none one (2, 2)).Shape)             // below the dilation
    // (H−1)·s − 2p + d·(k−1) + op + 1 must be ≥ 1: 1×1 input, 2×2 kernel, padding 1 gives 0.
    refusedAs<ArgumentException> "padding" "convTranspose2d: the output would be 0×0 for input [1,1,1,1]; reduce padding."
        (fun () -> convT (z [ 1; 1; 1; 1 ]) (z [ 1; 1; 2; 2 ]) null one one none one) |> ignore
    refusedAs<ArgumentException> "padding" "convTranspose2d: the output would be 2×0 for input [1,1,3,1]; reduce padding."
        (fun () -> convT (z [ 1; 1; 3; 1 ]) (z [ 1; 1; 2; 2 ]) null one one none one) |> ignore
    refusedAs<ArgumentException> "padding" "convTranspose2d: the output would be 0×2 for input [1,1,1,3]; reduce padding."
        (fun () -> convT (z [ 1; 1; 1; 3 ]) (z [ 1; 1; 2; 2 ]) null one one none one) |> ignore

[<Fact>]
let ``the geometry's flops count every multiply-add twice`` () =
    let g = Backends.ConvGeometry(2, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 7, 6)
    Assert.Equal(2.0 * 2.0 * 5.0 * 7.0 * 6.0 * 3.0 * 3.0 * 3.0, g.Flops)
    Assert.Equal(4, Backends.ConvGeometry.OutSize(8, 3, 2, 1, 1))
    Assert.Equal(2, Backends.ConvGeometry.OutSize(8, 3, 2, 0, 2))
