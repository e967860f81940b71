/// VqVaeConfig's checks, presets by name and With: each field refused by name with its rule and value, each
/// bound accepted where it is allowed (survivors of the model-files mutation run).
module VqVae.Functional.Tests.ConfigValidationTests

open System
open Xunit
open VqVae.Functional.Model
open VqVae.Functional.Losses
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
