/// The training/evaluation switch inside the loss terms, for the decoder as for the encoder:
/// training mode runs each stack's training pass (BatchNorm on batch statistics) and returns the
/// updated stacks in LossTerms.Model; evaluation mode runs the plain pass and returns the model as
/// it was. (Mutation testing found no test that told the decoder's two branches apart: the presets
/// have no BatchNorm, where the two passes are the same.)
module VqVae.Functional.Tests.LossModeTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Model
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests.Properties

let private bits (t: Tensor) = t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

/// The case's model with a BatchNorm2d after the decoder's first layer (which outputs h channels in every architecture).
let private withDecoderBatchNorm (c: ModelCase) =
    let m = modelOf c
    let layers = m.Decoder.Layers.Layers
    let bn = BatchNorm2d.Init(c.Config.Hidden, momentum = 0.5f) :> ILayer
    m.With(decoder = Decoder(Sequential.Of(Array.concat [ [| layers[0]; bn |]; Array.ofSeq (Seq.skip 1 layers) ])))

let private decoderBn (m: VqVaeModel) = m.Decoder.Layers.Layers[1] :?> BatchNorm2d

[<PropertyTest(25)>]
let ``training-mode loss terms decode with the decoder's training pass and return its new statistics; evaluation mode does neither`` (c: ModelCase) =
    let m = withDecoderBatchNorm c
    let x = batchOf c
    let train = VqVaeModel.LossTerms(m, x)
    let struct (xHatTrain, decTrain) = m.Decoder.ApplyTraining(train.Quantized.DecoderInput)
    Assert.Equal<int[]>(bits xHatTrain, bits train.XHat)
    Assert.Equal(1.0f, (decoderBn train.Model).NumBatchesTracked.ToScalar())
    Assert.Equal<int[]>(bits (decTrain.Layers.Layers[1] :?> BatchNorm2d).RunningMean, bits (decoderBn train.Model).RunningMean)
    Assert.Same(m.Encoder, train.Model.Encoder)    // no BatchNorm there: the encoder is returned as it was
    let eval = VqVaeModel.LossTerms(m, x, training = false)
    Assert.Equal<int[]>(bits (m.Decoder.Apply(eval.Quantized.DecoderInput)), bits eval.XHat)
    Assert.Same(m, eval.Model)
    Assert.Equal(0.0f, (decoderBn eval.Model).NumBatchesTracked.ToScalar())
    // The two modes differ here (batch statistics vs the initial running ones), so the checks above tell them apart.
    Assert.NotEqual<int[]>(bits train.XHat, bits eval.XHat)
