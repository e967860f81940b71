/// Issue 15.2: autoencoder pretraining of a decoder that ends in a sigmoid (the reference preset) under MSE
/// used to saturate to an all-black output that never recovered; it is now pretrained with BCE.
module VqVae.Functional.Tests.PretrainTests

open Xunit
open VqVae.Tensors
open VqVae.Data.Datasets
open VqVae.Functional.Model
open VqVae.Functional.Losses
open VqVae.Functional.Optim
open VqVae.Functional.Training

let private batches (data: Dataset) n =
    Batches.Stream(data, 64, Rng.Seed(0).Fold(1), dropLast = true)
    |> Seq.take n |> Seq.map (fun b -> Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width)) |> Array.ofSeq

let private std (t: Tensor) =
    let a = t.ToArray() |> Array.map float
    let m = Array.average a
    sqrt (Array.averageBy (fun v -> (v - m) * (v - m)) a)

[<Fact>]
let ``pretraining the sigmoid decoder on MNIST learns the digits instead of saturating to black`` () =
    // The reference architecture, narrower (h = 32 saturates under MSE by step 30 like h = 128 does by step 10).
    let cfg = VqVaeConfig.Mnist.With(hidden = 32, codebookSize = 16)
    Assert.Equal(ReconstructionLoss.Bce, Recipes.PretrainLoss(VqVaeModel.Init(cfg, Rng.Seed 0L)))
    let struct (m, _) = Recipes.PretrainAutoencoder(VqVaeModel.Init(cfg, Rng.Seed 0L), Adam.Create 1e-3f, batches (BuiltInMnist.Train()) 50, 50)
    let x = (batches (BuiltInMnist.HeldOut()) 1)[0]
    let xHat = m.Decoder.Apply(m.Encoder.Apply x)
    let mse = (Loss.Mse(xHat, x)).ToScalar()
    let black = (Loss.Mse(Tensor.ZerosLike x, x)).ToScalar()
    Assert.True(mse < 0.8f * black, $"pretrained MSE {mse} is no better than the all-black image's {black}")
    Assert.True(std xHat > 0.25 * std x, $"reconstructions nearly constant: spread {std xHat} against the images' {std x}")

[<Fact>]
let ``decoders without a sigmoid keep their own reconstruction loss`` () =
    for cfg in [ VqVaeConfig.MnistSmall; VqVaeConfig.Mnist.With(reconstruction = ReconstructionLoss.Bce) ] do
        Assert.Equal(cfg.Reconstruction, Recipes.PretrainLoss(VqVaeModel.Init(cfg.With(hidden = 8), Rng.Seed 0L)))
