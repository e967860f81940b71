/// VqVaeConfig's checks, presets by name and With: each field refused by name with its rule and value, each
/// bound accepted where it is allowed (survivors of the model-files mutation run).
module VqVae.Functional.Tests.ConfigValidationTests

open System
open Xunit
open VqVae.Functional.Model
open VqVae.Functional.Losses
open VqVae.Functional.Hierarchical
open VqVae.Tensors.Tests.Refusals

let private ok = VqVaeConfig.Small

let private refused (field: string) (text: string) (c: VqVaeConfig) =
    refusedAs<ArgumentException> field $"config: {field} must be {text}." (fun () -> c.Validate()) |> ignore

[<Fact>]
let ``each field out of range is named with its rule and its value`` () =
    refused "Channels" "≥ 1, got 0" (ok.With(channels = 0))
    refused "Hidden" "≥ 1, got 0" (ok.With(hidden = 0))
    refused "CodebookSize" "≥ 1 (K, the number of codes), got 0" (ok.With(codebookSize = 0))
    refused "CodeDim" "≥ 1 (D, the code dimension), got 0" (ok.With(codeDim = 0))
    refused "Beta" "finite and ≥ 0, got -0.5" (ok.With(beta = -0.5f))
    refused "Beta" "finite and ≥ 0, got Infinity" (ok.With(beta = infinityf))
    refused "Reconstruction" "Mse, Bce or MseOverVariance, got 7" (ok.With(reconstruction = enum<ReconstructionLoss> 7))
    refused "Quantizer" "Straight or Ema, got 5" (ok.With(quantizer = enum<QuantizerKind> 5))
    refused "Architecture" "Reference, Compact or Residual, got 9" (ok.With(architecture = enum<Architecture> 9))
    refused "ResidualLayers" "≥ 0, got -1" (ok.With(residualLayers = -1))
    refused "ResidualHidden" "≥ 0 (0 means Hidden), got -1" (ok.With(residualHidden = -1))
    for d in [ 0f; 1f; -0.1f ] do refused "EmaDecay" $"in (0, 1), got {d.ToString(Globalization.CultureInfo.InvariantCulture)}" (ok.With(emaDecay = d))
    refused "EmaEpsilon" "finite and > 0, got 0" (ok.With(emaEpsilon = 0f))
    refused "EmaEpsilon" "finite and > 0, got Infinity" (ok.With(emaEpsilon = infinityf))
    refused "Hidden" "≥ 2 for the Compact architecture (its first conv has h/2 channels), got 1" (VqVaeConfig.MnistSmall.With(hidden = 1))
    refused "InputShift" "finite and in [−1, 1], got 1.5" (ok.With(inputShift = 1.5f))
    refused "InputShift" "finite and in [−1, 1], got NaN" (ok.With(inputShift = nanf))
    refused "InputShift" "0 with the BCE reconstruction (its targets must be pixels in [0, 1] as the decoder sees them), got -0.5"
        (ok.With(reconstruction = ReconstructionLoss.Bce, inputShift = -0.5f))
    refused "Preset" "a name, got null" (VqVaeConfig(1, 8, 16, 4, 0.25f, Preset = Unchecked.defaultof<string>))

[<Fact>]
let ``every bound is accepted where the rule allows it`` () =
    for c in [ ok.With(channels = 1, hidden = 1, codebookSize = 1, codeDim = 1, beta = 0f)
               ok.With(residualLayers = 0, residualHidden = 0, emaDecay = MathF.BitIncrement 0f, emaEpsilon = Single.Epsilon)
               ok.With(emaDecay = MathF.BitDecrement 1f, emaEpsilon = Single.MaxValue)
               VqVaeConfig.MnistSmall.With(hidden = 2)
               ok.With(inputShift = 1f); ok.With(inputShift = -1f)
               ok.With(reconstruction = ReconstructionLoss.Bce, inputShift = 0f)
               VqVaeConfig.Paper.With(reconstruction = ReconstructionLoss.Bce, inputShift = 0f, hidden = 1) ] do
        Assert.Same(c, c.Validate())

[<Fact>]
let ``presets are found by name without regard to case, dashes or underscores, and an unknown one lists them`` () =
    for name, p in [ "mnist", VqVaeConfig.Mnist; "MNIST", VqVaeConfig.Mnist; "mnist-small", VqVaeConfig.MnistSmall
                     "Mnist_Small", VqVaeConfig.MnistSmall; "paper", VqVaeConfig.Paper; "small", VqVaeConfig.Small ] do
        Assert.Same(p, VqVaeConfig.ByName name)
    refusedAs<ArgumentException> "name" "config: unknown preset 'cifar'; expected one of mnist, mnistSmall, paper, small." (fun () -> VqVaeConfig.ByName "cifar") |> ignore
    refusedAs<ArgumentException> "name" "config: unknown preset 'mnist small'" (fun () -> VqVaeConfig.ByName "mnist small") |> ignore
    Assert.Equal("name", nullArgumentOf (fun () -> VqVaeConfig.ByName(Unchecked.defaultof<string>)))

[<Fact>]
let ``With replaces exactly the fields it is given`` () =
    let c = ok.With(emaDecay = 0.5f, emaEpsilon = 1e-3f, inputShift = -0.25f, residualHidden = 3)
    Assert.Equal((0.5f, 1e-3f, -0.25f, 3), (c.EmaDecay, c.EmaEpsilon, c.InputShift, c.ResidualHidden))
    Assert.Equal(ok, ok.With())

let private ok2 = VqVae2Config(1, 8, 6, 10, 3, 0.25f)
let private refused2 (field: string) (text: string) (c: VqVae2Config) =
    refusedAs<ArgumentException> field $"vqvae2 config: {field} must be {text}." (fun () -> c.Validate()) |> ignore
let private inv (x: float32) = x.ToString(Globalization.CultureInfo.InvariantCulture)

[<Fact>]
let ``a VQ-VAE-2 config names each field out of range with its rule and value, and accepts every bound`` () =
    refused2 "Channels" "≥ 1, got 0" (ok2.With(channels = 0))
    refused2 "Hidden" "≥ 2 (the first conv has h/2 channels), got 1" (ok2.With(hidden = 1))
    refused2 "TopCodebookSize" "≥ 1 (K_t), got 0" (ok2.With(topCodebookSize = 0))
    refused2 "BottomCodebookSize" "≥ 1 (K_b), got 0" (ok2.With(bottomCodebookSize = 0))
    refused2 "CodeDim" "≥ 1 (D), got 0" (ok2.With(codeDim = 0))
    refused2 "Beta" "finite and ≥ 0, got -0.5" (ok2.With(beta = -0.5f))
    refused2 "Beta" "finite and ≥ 0, got NaN" (ok2.With(beta = nanf))
    refused2 "ResidualLayers" "≥ 0, got -1" (ok2.With(residualLayers = -1))
    refused2 "ResidualHidden" "≥ 0 (0 means h/2), got -1" (ok2.With(residualHidden = -1))
    refused2 "Reconstruction" "Mse or MseOverVariance (the decoder has no sigmoid for BCE), got Bce" (ok2.With(reconstruction = ReconstructionLoss.Bce))
    refused2 "Quantizer" "Straight or Ema, got 5" (ok2.With(quantizer = enum<QuantizerKind> 5))
    for d in [ 0f; 1f ] do refused2 "EmaDecay" $"in (0, 1), got {inv d}" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, EmaDecay = d))
    refused2 "EmaEpsilon" "finite and > 0, got 0" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, EmaEpsilon = 0f))
    refused2 "EmaEpsilon" "finite and > 0, got Infinity" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, EmaEpsilon = infinityf))
    refused2 "InputShift" "finite and in [−1, 1], got 1.5" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, InputShift = 1.5f))
    refused2 "InputShift" "finite and in [−1, 1], got NaN" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, InputShift = nanf))
    refused2 "Preset" "a name, got null" (VqVae2Config(1, 8, 6, 10, 3, 0.25f, Preset = Unchecked.defaultof<string>))
    for c in [ ok2.With(channels = 1, hidden = 2, topCodebookSize = 1, bottomCodebookSize = 1, codeDim = 1, beta = 0f)
               ok2.With(residualLayers = 0, residualHidden = 0, reconstruction = ReconstructionLoss.MseOverVariance, quantizer = QuantizerKind.Ema)
               VqVae2Config(1, 8, 6, 10, 3, 0.25f, EmaDecay = MathF.BitIncrement 0f, EmaEpsilon = Single.Epsilon, InputShift = 1f)
               VqVae2Config(1, 8, 6, 10, 3, 0.25f, EmaDecay = MathF.BitDecrement 1f, EmaEpsilon = Single.MaxValue, InputShift = -1f) ] do
        Assert.Same(c, c.Validate())

[<Fact>]
let ``VQ-VAE-2 presets by name, residual channels and the padded grids`` () =
    for n in [ "vqvae2"; "VQ-VAE-2"; "vq_vae_2"; "VqVae2" ] do Assert.Same(VqVae2Config.Mnist, VqVae2Config.ByName n)
    Assert.False(VqVae2Config.IsName null)
    Assert.False(VqVae2Config.IsName "vqvae")
    refusedAs<ArgumentException> "name" "config: unknown VQ-VAE-2 preset 'mnist'; expected vqvae2." (fun () -> VqVae2Config.ByName "mnist") |> ignore
    Assert.Equal("name", nullArgumentOf (fun () -> VqVae2Config.ByName(Unchecked.defaultof<string>)))
    Assert.Equal(4, ok2.ResidualChannels)                              // h/2
    Assert.Equal(5, ok2.With(residualHidden = 5).ResidualChannels)
    Assert.Equal(1, VqVae2Config(1, 1, 6, 10, 3, 0.25f).ResidualChannels)     // at least 1
    // Sides are padded up to a multiple of 8; the bottom grid is a quarter, the top an eighth.
    Assert.Equal((8, 16, 24), (VqVae2Config.PaddedSide 1, VqVae2Config.PaddedSide 9, VqVae2Config.PaddedSide 24))
    Assert.Equal(struct (8, 4, 4, 2), VqVae2Config.GridsFor(28, 13))
