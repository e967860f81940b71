/// The model's settings have one source, its config (issue 12 item 2): β, the loss kinds and the
/// input pixel range, applied inside the library; and the loss terms' train/eval switch.
module VqVae.Functional.Tests.ModelSettingsTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Model
open VqVae.Functional.Checkpoints
open VqVae.Functional.Training
open VqVae.Functional.Optim
open VqVae.Tensors.Tests

let private small = VqVaeConfig.MnistSmall.With(hidden = 8, codebookSize = 16, codeDim = 4)
let private pixels seed = Tensor.Uniform(Rng.Seed seed, 0f, 1f, 3, 1, 8, 8)
let private close (a: float32[]) (b: float32[]) = Array.forall2 (fun (x: float32) y -> abs (x - y) <= 1e-5f * (1f + abs y)) a b

[<Fact>]
let ``the presets carry their input range: mnistSmall and paper train on [-0.5, 0.5], the reference on [0, 1]`` () =
    Assert.Equal(-0.5f, VqVaeConfig.MnistSmall.InputShift)
    Assert.Equal(-0.5f, VqVaeConfig.Paper.InputShift)
    Assert.Equal(0f, VqVaeConfig.Mnist.InputShift)

[<Fact>]
let ``the input shift is applied inside the model: pixels in, pixels out, same as the raw network on shifted pixels`` () =
    let m = VqVaeModel.Init(small, Rng.Seed 1L)
    let raw = m.With(config = small.With(inputShift = 0f))
    let x = pixels 2L
    let shifted = x - 0.5f
    Assert.Equal<int[]>(VqVaeModel.EncodeToCodes(raw, shifted).ToArray(), VqVaeModel.EncodeToCodes(m, x).ToArray())
    Assert.True(close (VqVaeModel.Reconstruct(m, x).ToArray()) ((VqVaeModel.Reconstruct(raw, shifted) + 0.5f).ToArray()))
    let t, tRaw = VqVaeModel.LossTerms(m, x), VqVaeModel.LossTerms(raw, shifted)
    Assert.True(close [| t.Recon.ToScalar(); t.Commitment.ToScalar() |] [| tRaw.Recon.ToScalar(); tRaw.Commitment.ToScalar() |])
    // and it matters: the same network on unshifted pixels gives other codes or another loss
    let tWrong = VqVaeModel.LossTerms(raw, x)
    Assert.NotEqual(t.Commitment.ToScalar(), tWrong.Commitment.ToScalar())

[<Fact>]
let ``beta comes from the model's config: changing it on the model changes total by beta times commitment`` () =
    let m = VqVaeModel.Init(small, Rng.Seed 1L)
    let x = pixels 3L
    let t1 = VqVaeModel.LossTerms(m, x)
    let t2 = VqVaeModel.LossTerms(m.With(config = small.With(beta = small.Beta + 1f)), x)
    Assert.Equal(t1.Total.ToScalar() + t1.Commitment.ToScalar(), t2.Total.ToScalar(), 5)
    // the train step has no second source either: its metrics follow the model's β
    let adam = Adam.Create 1e-3f
    let struct (_, _, s1) = TrainStep.Apply(adam, m, adam.Init m, x)
    let m2 = m.With(config = small.With(beta = small.Beta + 1f))
    let struct (_, _, s2) = TrainStep.Apply(adam, m2, adam.Init m2, x)
    Assert.Equal(s1.Total + s1.Commitment, s2.Total, 5)

[<Fact>]
let ``checkpoints store the input shift; a file without it gets the range the command line used`` () =
    let m = VqVaeModel.Init(small.With(inputShift = -0.25f), Rng.Seed 1L)
    let path = Scratch.path "shift.safetensors"
    try
        Checkpoint.Save(path, m)
        Assert.Equal(-0.25f, Checkpoint.Load(path).Config.InputShift)
    finally IO.File.Delete path
    let json = ConfigJson.Write(small).Replace(",\"input_shift\":-0.5", "")
    Assert.DoesNotContain("input_shift", json)
    Assert.Equal(-0.5f, ConfigJson.Read(json, VqVaeConfig.Mnist).InputShift)
    Assert.Equal(0f, ConfigJson.Read(ConfigJson.Write(VqVaeConfig.Mnist).Replace(",\"input_shift\":0", ""), VqVaeConfig.Mnist).InputShift)

[<Fact>]
let ``a BCE reconstruction with a shifted input range is refused by name`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> VqVaeConfig.Small.With(reconstruction = ReconstructionLoss.Bce, inputShift = -0.5f).Validate() |> ignore)
    Assert.Contains("InputShift", e.Message)
    Assert.Throws<ArgumentException>(fun () -> VqVaeConfig.Small.With(inputShift = nanf).Validate() |> ignore) |> ignore

/// Kills the mutants of the decoder's train/eval switch inside the loss terms (issue 12 item 7):
/// with a BatchNorm in the decoder, training mode uses batch statistics and returns updated running
/// statistics; evaluation mode equals Reconstruct bit for bit and returns the model itself.
[<Fact>]
let ``the loss terms run the decoder in training mode only when training`` () =
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
    let m = VqVaeModel.Init(cfg, Rng.Seed 3L)
    let dec = m.Decoder.Layers.Layers
    let withBn = m.With(decoder = Decoder(Sequential.Of([| yield dec[0]; yield BatchNorm2d.Init(4) :> ILayer; yield! Seq.skip 1 dec |])))
    let x = Tensor.Uniform(Rng.Seed 5L, 0.0f, 1.0f, 4, 1, 8, 8)
    let train = VqVaeModel.LossTerms(withBn, x)
    let bn = train.Model.Decoder.Layers.Layers[1] :?> BatchNorm2d
    Assert.Equal(1.0f, bn.NumBatchesTracked.ToScalar())
    let eval = VqVaeModel.LossTerms(withBn, x, training = false)
    Assert.Same(withBn, eval.Model)
    Assert.Equal<float32[]>(VqVaeModel.Reconstruct(withBn, x).ToArray(), eval.XHat.ToArray())
    Assert.NotEqual<float32[]>(eval.XHat.ToArray(), train.XHat.ToArray())
