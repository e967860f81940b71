/// BatchNorm2d against PyTorch 1.13 (tests/fixtures/parity_batchnorm.safetensors): a tiny
/// Sequential(Conv2d(2,3,3,p1), BatchNorm2d(3), ReLU) in training mode for two passes (output,
/// gradients of sum(y·gy) w.r.t. input, conv and BN parameters, running statistics after each
/// pass: unbiased variance for running_var, biased for normalisation), then evaluation mode.
module VqVae.Functional.Tests.ParityLayersTests

open System
open Xunit
open Xunit.Abstractions
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.ParityHelpers

type ParityLayers(output: ITestOutputHelper) =

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``BatchNorm2d in a conv-BN-ReLU stack matches PyTorch in training (output, gradients, running stats over two passes) and in evaluation``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_batchnorm.safetensors"
        let errs = Errors("batchnorm", output)
        let net (cw: Tensor) (cb: Tensor) (bw: Tensor) (bb: Tensor) (rm: Tensor) (rv: Tensor) (nbt: Tensor) =
            Sequential.Of(Conv2dLayer(cw, cb, Stride = 1, Padding = 1), BatchNorm2d(bw, bb, rm, rv, nbt), Activation.Relu)
        let init n = fx["init/" + n]
        let mutable seq = net (init "0.weight") (init "0.bias") (init "1.weight") (init "1.bias") (init "1.running_mean") (init "1.running_var") (init "1.num_batches_tracked")
        // The Sequential's leaves are torch's state_dict names, in order.
        let names = Tree.Leaves seq |> Seq.map (fun l -> l.Name) |> List.ofSeq
        Assert.Equal<string list>([ "0.weight"; "0.bias"; "1.weight"; "1.bias"; "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ], names)
        Assert.Equal<string seq>([ "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ], seq.BufferNames)
        for step in 1 .. 2 do
            let k n = sprintf "step%d/%s" step n
            let x, gy = fx[k "x"], fx[k "gy"]
            let bn = seq.Layers[1] :?> BatchNorm2d
            let conv = seq.Layers[0] :?> Conv2dLayer
            // Gradients of sum(y·gy) w.r.t. x and the four parameters; buffers are constants.
            let f (ts: Tensor[]) =
                let s = net ts[1] ts[2] ts[3] ts[4] bn.RunningMean bn.RunningVar bn.NumBatchesTracked
                let struct (y, _) = s.ApplyTraining ts[0]
                (y * gy).Sum()
            let struct (_, gs) = Grad.ValueAndGrad(Func<Tensor[], Tensor> f, [| x; conv.Weight; conv.Bias; bn.Weight; bn.Bias |])
            for i, n in [ 0, "x"; 1, "0.weight"; 3, "1.weight"; 4, "1.bias" ] do
                errs.Expect(k ("grad/" + n), fx[k ("grad/" + n)], gs[i])
            // The conv bias is followed by BatchNorm, which subtracts the batch mean: its gradient is
            // 0 in exact arithmetic and float32 noise (~1e-6) in both; measured against the conv weight's gradient.
            errs.ExpectAgainst(k "grad/0.bias", fx[k "grad/0.bias"], gs[2], maxAbs (fx[k "grad/0.weight"].ToArray()))
            let struct (y, next) = seq.ApplyTraining x
            errs.Expect(k "y", fx[k "y"], y)
            seq <- next
            let bn' = seq.Layers[1] :?> BatchNorm2d
            errs.Expect(k "1.running_mean", fx[k "1.running_mean"], bn'.RunningMean)
            errs.Expect(k "1.running_var", fx[k "1.running_var"], bn'.RunningVar)
            errs.Expect(k "1.num_batches_tracked", fx[k "1.num_batches_tracked"], bn'.NumBatchesTracked)
            Assert.Equal(float32 step, bn'.NumBatchesTracked.ToScalar())
        errs.Expect("eval/y", fx["eval/y"], seq.Apply fx["eval/x"])
        errs.Check()
