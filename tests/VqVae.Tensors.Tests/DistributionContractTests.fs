/// LogSoftmax's and cross-entropy's refusals as users read them (each names its op, and the argument where one is
/// at fault: a scalar, a class dimension out of range or empty, null arguments, nothing to average), and that
/// LogSoftmax is booked under its own name in the op profile. The profiler is process-wide, so this module runs in
/// the "OpProfiler" collection (alone).
namespace VqVae.Tensors.Tests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Diagnostics
open VqVae.Tensors.Tests.Refusals

[<Collection("OpProfiler")>]
module DistributionContractTests =

    [<Fact>]
    let ``LogSoftmax refuses a scalar, a dimension out of range and an empty class dimension, naming logSoftmax`` () =
        let e = Assert.Throws<InvalidOperationException>(fun () -> Tensor.Scalar(1f).LogSoftmax(0) |> ignore)
        Assert.Equal("logSoftmax: a scalar has no class dimension.", e.Message)
        let x = Tensor.Zeros(2, 3)
        refusedAs<ArgumentOutOfRangeException> "dim" "logSoftmax: dim must be in [-2, 1] for a tensor of rank 2, got 2." (fun () -> x.LogSoftmax 2) |> ignore
        refusedAs<ArgumentException> "dim" "logSoftmax: dimension 1 of shape [2,0] is empty." (fun () -> Tensor.Zeros(2, 0).LogSoftmax 1) |> ignore

    [<Fact>]
    let ``LogSoftmax is booked under its own name in the op profile`` () =
        let x = Tensor.FromArray([| 1f; 2f; 3f; 4f |], 2, 2)
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try x.LogSoftmax 1 |> ignore
        finally OpProfiler.Enabled <- false
        let names = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name) |> List.ofSeq
        OpProfiler.Reset()
        Assert.Contains("fwd logSoftmax", names)

    [<Fact>]
    let ``cross-entropy refuses null logits and targets, scalar logits and a class dimension out of range, by name`` () =
        let logits = Tensor.Zeros(2, 3)
        Assert.Equal("logits", nullArgumentOf (fun () -> Tensor.CrossEntropyEach(Unchecked.defaultof<Tensor>, [| 0; 1 |])))
        Assert.Equal("targets", nullArgumentOf (fun () -> Tensor.CrossEntropyEach(logits, Unchecked.defaultof<int[]>)))
        refusedAs<ArgumentException> "logits" "crossEntropy: logits must have a class dimension, got a scalar." (fun () -> Tensor.CrossEntropyEach(Tensor.Scalar 1f, [||])) |> ignore
        refusedAs<ArgumentOutOfRangeException> "classDim" "crossEntropy: classDim must be in [-2, 1] for a tensor of rank 2, got 2." (fun () -> Tensor.CrossEntropyEach(logits, [| 0; 1 |], 2)) |> ignore

    [<Fact>]
    let ``the mean cross-entropy refuses logits with no positions to average over`` () =
        refusedAs<ArgumentException> "targets" "crossEntropy: there are no positions to average over." (fun () -> Tensor.CrossEntropy(Tensor.Zeros(0, 3), [||])) |> ignore
