/// The layers' argument checks and BatchNorm2d's contract (PyTorch's): sizes refused by name, momentum and eps
/// at their bounds, input shapes, training statistics (biased for the output, unbiased for the running
/// variance), and the tree a layer writes (survivors of the model-files mutation run).
module VqVae.Functional.Tests.LayerChecksTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Tensors.Tests.Refusals

[<Fact>]
let ``a conv layer refuses a size below 1 by name`` () =
    let refused name text f = refusedAs<ArgumentOutOfRangeException> name text f |> ignore
    refused "inChannels" "conv2d: inChannels must be ≥ 1, got 0." (fun () -> Conv2dLayer.Init(Rng.Seed 1L, 0, 2, 3))
    refused "outChannels" "conv2d: outChannels must be ≥ 1, got 0." (fun () -> Conv2dLayer.Init(Rng.Seed 1L, 2, 0, 3))
    refused "kernel" "conv2d: kernel must be ≥ 1, got -1." (fun () -> Conv2dLayer.Init(Rng.Seed 1L, 2, 2, -1))
    let c = Conv2dLayer.Init(Rng.Seed 1L, 1, 1, 1)
    Assert.Equal((1, 1), (c.InChannels, c.OutChannels))

[<Fact>]
let ``batch norm refuses bad settings and inputs by name, and accepts the bounds`` () =
    let refused name text f = refusedAs<ArgumentOutOfRangeException> name text f |> ignore
    refused "channels" "batchNorm2d: channels must be ≥ 1, got 0." (fun () -> BatchNorm2d.Init 0)
    refused "momentum" "batchNorm2d: momentum must be in [0, 1], got -0.1." (fun () -> BatchNorm2d.Init(2, momentum = -0.1f))
    refused "momentum" "batchNorm2d: momentum must be in [0, 1], got 1.5." (fun () -> BatchNorm2d.Init(2, momentum = 1.5f))
    refused "momentum" "batchNorm2d: momentum must be in [0, 1], got NaN." (fun () -> BatchNorm2d.Init(2, momentum = nanf))
    refused "eps" "batchNorm2d: eps must be > 0, got 0." (fun () -> BatchNorm2d.Init(2, eps = 0f))
    for m in [ 0f; 1f ] do Assert.Equal(m, (BatchNorm2d.Init(2, momentum = m)).Momentum)
    let bn = BatchNorm2d.Init 2
    let shape text (x: Tensor) =
        refusedAs<ArgumentException> "x" $"batchNorm2d: x must be [B, 2, H, W], got {text}." (fun () -> bn.Apply x) |> ignore
        refusedAs<ArgumentException> "x" $"batchNorm2d: x must be [B, 2, H, W], got {text}." (fun () -> bn.ApplyTraining x) |> ignore
    shape "[1,3,2,2]" (Tensor.Zeros(1, 3, 2, 2))
    shape "[2,2,2]" (Tensor.Zeros(2, 2, 2))
    Assert.Equal("x", nullArgumentOf (fun () -> bn.Apply(Unchecked.defaultof<Tensor>)))
    refusedAs<ArgumentException> "x" "batchNorm2d: training needs more than one value per channel, got input shape [1,2,1,1]."
        (fun () -> bn.ApplyTraining(Tensor.Zeros(1, 2, 1, 1))) |> ignore
    // Two values per channel are enough.
    bn.ApplyTraining(Tensor.FromArray([| 1f; 2f; 3f; 5f |], 2, 2, 1, 1)) |> ignore

[<Fact>]
let ``batch norm in training normalises by the batch and moves its running statistics as PyTorch does`` () =
    // Channel 0 holds 1 and 3 (mean 2, biased variance 1, unbiased 2); channel 1 holds 4 and 4.
    let x = Tensor.FromArray([| 1f; 4f; 3f; 4f |], 2, 2, 1, 1)
    let bn = BatchNorm2d.Init(2, momentum = 0.25f)
    let struct (y, next) = bn.ApplyTraining x
    let y0 = y.ToArray()
    Assert.Equal(-1f / MathF.Sqrt(1f + 1e-5f), y0[0], 5)
    Assert.Equal(0f, y0[1], 5)
    let n = next :?> BatchNorm2d
    Assert.Equal<float32[]>([| 0.5f; 1f |], n.RunningMean.ToArray())                  // 0.75·0 + 0.25·mean
    Assert.Equal<float32[]>([| 1.25f; 0.75f |], n.RunningVar.ToArray())               // 0.75·1 + 0.25·unbiased variance
    Assert.Equal(1f, n.NumBatchesTracked.ToScalar())
    // Evaluation uses the running statistics, not the batch's.
    let e = n.Apply x
    Assert.Equal((1f - 0.5f) / MathF.Sqrt(1.25f + 1e-5f), e.ToArray()[0], 5)
    Assert.Same(bn.Weight, n.Weight)

[<Fact>]
let ``batch norm writes its five tensors under PyTorch's names, buffers listed, and refuses a null writer`` () =
    let bn = BatchNorm2d.Init 3
    let w = TreeWriter()
    bn.Flatten w
    Assert.Equal<string list>([ "weight"; "bias"; "running_mean"; "running_var"; "num_batches_tracked" ], w.Leaves |> Seq.map _.Name |> List.ofSeq)
    Assert.Equal<string list>([ "running_mean"; "running_var"; "num_batches_tracked" ], List.ofSeq bn.BufferNames)
    Assert.Equal("writer", nullArgumentOf (fun () -> bn.Flatten(Unchecked.defaultof<TreeWriter>)))

[<Fact>]
let ``the small layers and model parts: bad sizes and kinds named, null writers refused, nothing rebuilt that did not change`` () =
    refusedAs<ArgumentOutOfRangeException> "count" "residualStack: count must be ≥ 0, got -1." (fun () -> ResidualStack.Init(Rng.Seed 1L, -1, 4, 4)) |> ignore
    let stack = ResidualStack.Init(Rng.Seed 1L, 1, 4, 2)
    Assert.Equal("writer", nullArgumentOf (fun () -> stack.Flatten(Unchecked.defaultof<TreeWriter>)))
    Assert.Equal("writer", nullArgumentOf (fun () -> stack.Blocks[0].Flatten(Unchecked.defaultof<TreeWriter>)))
    let e = Assert.Throws<InvalidOperationException>(fun () -> Activation(enum<ActivationKind> 9).Apply(Tensor.Zeros 1) |> ignore)
    Assert.Equal("activation: unknown kind 9.", e.Message)
    let odd = VqVae.Functional.Model.VqVaeConfig.Small.With(architecture = enum<VqVae.Functional.Model.Architecture> 9)
    refusedAs<ArgumentException> "config" "config: unknown architecture 9." (fun () -> VqVae.Functional.Model.ModelSize.Values odd) |> ignore
    refusedAs<ArgumentException> "c" "config: unknown architecture 9." (fun () -> VqVae.Functional.Model.Architectures.Build(odd, Rng.Seed 1L, Rng.Seed 2L)) |> ignore
    // A model too large to count in 64 bits saturates.
    let huge = VqVae.Functional.Model.VqVaeConfig.Small.With(hidden = Int32.MaxValue, codebookSize = Int32.MaxValue, codeDim = Int32.MaxValue)
    Assert.Equal(Int64.MaxValue, VqVae.Functional.Model.ModelSize.ValuesSaturated huge)
    Assert.Throws<OverflowException>(fun () -> VqVae.Functional.Model.ModelSize.Values huge |> ignore) |> ignore
    // A decoder without batch norm has no buffers to move: training mode gives back the same decoder.
    let m = VqVae.Functional.Model.VqVaeModel.Init(ModelTests.tiny, Rng.Seed 3L)
    let struct (_, d) = m.Decoder.ApplyTraining(Tensor.Zeros(1, 2, 2, 2))
    Assert.Same(m.Decoder, d)
    // The rows of z_e: one per position, channel last.
    let ze = Tensor.FromArray(Array.init 8 float32, 1, 2, 2, 2)
    let q = VqVae.Functional.Quantization.Quantizer.Quantize(Tensor.Zeros(3, 2), ze)
    Assert.Equal<int[]>([| 4; 2 |], q.Rows().Shape)
    Assert.Equal<float32[]>([| 0f; 4f; 1f; 5f; 2f; 6f; 3f; 7f |], q.Rows().ToArray())

[<Fact>]
let ``a decoder's training pass hands back its batch-norm statistics, and itself when no layer holds any`` () =
    let z = Tensor.Uniform(Rng.Seed 3L, -1f, 1f, 2, 2, 3, 3)
    let withNorm = VqVae.Functional.Model.Decoder(Sequential.Of(BatchNorm2d.Init 2))
    let struct (_, after) = withNorm.ApplyTraining z
    let stats (d: VqVae.Functional.Model.Decoder) = (d.Layers.Layers[0] :?> BatchNorm2d).RunningMean.ToArray()
    Assert.Equal<float32[]>([| 0f; 0f |], stats withNorm)
    Assert.NotEqual<float32[]>(stats withNorm, stats after)
    let convOnly = VqVae.Functional.Model.Decoder(Sequential.Of(Conv2dLayer.Init(Rng.Seed 1L, 2, 1, 1)))
    let struct (_, same) = convOnly.ApplyTraining z
    Assert.Same(convOnly, same)
