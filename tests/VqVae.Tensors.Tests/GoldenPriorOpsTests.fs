/// The prior's ops against PyTorch 1.13 (tests/fixtures/prior_ops.safetensors, made by
/// make_prior_fixtures.py): values and the gradients of sum(y·gy), within 1e-4 of each tensor's
/// largest |expected| (the issue's relative tolerance).
module VqVae.Tensors.Tests.GoldenPriorOpsTests

open System
open System.IO
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO

let private file = lazy (SafeTensors.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "prior_ops.safetensors")))

let private tensor key =
    let e = file.Value[key]
    Tensor.FromArray(e.Data, e.Shape)

let private ints key = (tensor key).ToArray() |> Array.map (fun v -> int (MathF.Round v))

/// Prior ops are checked to the issue's rel ≤ 1e-4 (GoldenTests holds the comparison).
let private assertMatches (what: string) (expected: Tensor) (actual: Tensor | null) = GoldenTests.assertMatchesWithin 1e-4f what expected actual

/// Checks y and the gradient of sum(y·gy) for each named input of a case.
let private case (name: string) (inputs: string list) (f: Tensor[] -> Tensor) =
    let xs = inputs |> List.map (fun k -> tensor $"{name}/{k}") |> Array.ofList
    assertMatches $"{name}/y" (tensor $"{name}/y") (f xs)
    let gy = tensor $"{name}/gy"
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (f ts * gy).Sum()), xs)
    inputs |> List.iteri (fun i k -> assertMatches $"{name}/g{k}" (tensor $"{name}/g{k}") g[i])

[<Fact>]
let ``log-softmax matches PyTorch`` () =
    case "log_softmax0" [ "x" ] (fun ts -> ts[0].LogSoftmax(1))
    case "log_softmax1" [ "x" ] (fun ts -> ts[0].LogSoftmax(-1))

[<Fact>]
let ``cross-entropy matches PyTorch (mean and per position)`` () =
    let target = ints "cross_entropy/target"
    case "cross_entropy" [ "x" ] (fun ts -> Tensor.CrossEntropy(ts[0], target))
    case "cross_entropy_each" [ "x" ] (fun ts -> Tensor.CrossEntropyEach(ts[0], target))

[<Fact>]
let ``cat and narrow along inner dimensions match PyTorch`` () =
    case "cat1" [ "a"; "b" ] (fun ts -> Tensor.Cat(ts, 1))
    case "cat3" [ "a"; "b" ] (fun ts -> Tensor.Cat(ts, 3))
    case "narrow2" [ "x" ] (fun ts -> ts[0].Narrow(2, 1, 2))

[<Fact>]
let ``embedding of a code grid matches PyTorch`` () =
    let codes = ints "embedding/codes"
    case "embedding" [ "table" ] (fun ts -> ts[0].EmbedGrid(codes, 2, 3, 4))

[<Fact>]
let ``masked convolutions (PixelCNN masks A and B) match PyTorch`` () =
    for name, pad in [ "masked_conv_a", 1; "masked_conv_b", 2 ] do
        let mask = tensor $"{name}/mask"
        case name [ "x"; "w"; "b" ] (fun ts -> Tensor.MaskedConv2d(ts[0], ts[1], mask, ts[2], pad, pad))

[<Fact>]
let ``tanh and the tanh-sigmoid gate match PyTorch`` () =
    case "tanh" [ "x" ] (fun ts -> ts[0].Tanh())
    case "gate" [ "x" ] (fun ts -> ts[0].Gate(1))
