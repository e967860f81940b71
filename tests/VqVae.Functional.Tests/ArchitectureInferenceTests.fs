/// Inferring a config from a bare state dict's names and shapes (a PyTorch checkpoint without our metadata):
/// the presets recognised by name, the residual stack's depth and width, the EMA buffers in pairs, what is
/// assumed (in full), and every refusal in words.
module VqVae.Functional.Tests.ArchitectureInferenceTests

open System
open System.Collections.Generic
open Xunit
open VqVae.Tensors
open VqVae.Functional.Checkpoints
open VqVae.Functional.Model
open VqVae.Tensors.Tests.Refusals

let private shapesOf (c: VqVaeConfig) : IReadOnlyDictionary<string, int[]> =
    let sd = VqVaeModel.Init(c, Rng.Seed 0L).ToStateDict()
    Dictionary<string, int[]>(sd |> Seq.map (fun kv -> KeyValuePair(kv.Key, kv.Value.Shape)), StringComparer.Ordinal)

let private edited (c: VqVaeConfig) (f: Dictionary<string, int[]> -> unit) : IReadOnlyDictionary<string, int[]> =
    let d = Dictionary<string, int[]>(shapesOf c, StringComparer.Ordinal)
    f d
    d

[<Fact>]
let ``every preset's shapes give back the preset, by name, with its input range`` () =
    for p in [ VqVaeConfig.Mnist; VqVaeConfig.Small; VqVaeConfig.MnistSmall; VqVaeConfig.Paper ] do
        let inferred = ArchitectureInference.Infer(shapesOf p)
        Assert.Equal(p, inferred.Config)
    // A size no preset has is "custom", with the architecture's usual settings.
    let custom = VqVaeConfig.Paper.With(hidden = 16, codebookSize = 8, codeDim = 4, residualLayers = 3, residualHidden = 5, preset = "custom")
    Assert.Equal(custom, ArchitectureInference.Infer(shapesOf custom).Config)

[<Fact>]
let ``the residual stack's depth is its highest layer index plus one, its width is 0 when it is the hidden width`` () =
    let residual layers inner = VqVaeConfig.Paper.With(hidden = 16, codebookSize = 8, codeDim = 4, residualLayers = Nullable layers, residualHidden = Nullable inner, preset = "custom")
    let infer (c: VqVaeConfig) = let r = ArchitectureInference.Infer(shapesOf c) in r.Config.ResidualLayers, r.Config.ResidualHidden
    Assert.Equal((3, 0), infer (residual 3 0))
    Assert.Equal((2, 0), infer (residual 2 16))   // an explicit width equal to the hidden width is the default
    Assert.Equal((1, 7), infer (residual 1 7))
    Assert.Equal((0, 0), infer (residual 0 0))    // a residual architecture with no residual layers needs no layer tensor

[<Fact>]
let ``the assumptions say every setting the tensors cannot tell, and the value taken`` () =
    let straight = ArchitectureInference.Infer(shapesOf VqVaeConfig.Paper)
    Assert.Equal<string list>(
        [ "beta: not stored in the tensors; using 0.25 (pass beta to choose)."
          "reconstruction: not stored in the tensors; using MseOverVariance (the Residual architecture's usual loss)."
          "input shift: not stored in the tensors; using -0.5 (the Residual architecture's usual input range, [-0.5, 0.5])." ],
        List.ofSeq straight.Assumptions)
    let ema = ArchitectureInference.Infer(shapesOf (VqVaeConfig.Small.With(quantizer = QuantizerKind.Ema)), beta = 0.5f)
    Assert.Equal(0.5f, ema.Config.Beta)
    Assert.Equal(QuantizerKind.Ema, ema.Config.Quantizer)
    Assert.Equal<string list>(
        [ "reconstruction: not stored in the tensors; using Mse (the Reference architecture's usual loss)."
          "input shift: not stored in the tensors; using 0 (the Reference architecture's usual input range, [0, 1])."
          "EMA decay and epsilon: not stored in the tensors; using 0.99 and 1E-05." ],
        List.ofSeq ema.Assumptions)

[<Fact>]
let ``a missing or misshapen tensor, a lone EMA buffer and an unknown kernel pair are refused in words`` () =
    Assert.Equal("shapes", nullArgumentOf (fun () -> ArchitectureInference.Infer(Unchecked.defaultof<IReadOnlyDictionary<string, int[]>>)))
    let refused (text: string) (shapes: IReadOnlyDictionary<string, int[]>) =
        let e = Assert.Throws<FormatException>(fun () -> ArchitectureInference.Infer shapes |> ignore)
        Assert.Equal(text, e.Message)
    let ema = VqVaeConfig.Small.With(quantizer = QuantizerKind.Ema)
    refused "'vq.cluster_size' is present but 'vq.ema_w' is not; an EMA quantizer needs both." (edited ema (fun d -> d.Remove "vq.ema_w" |> ignore))
    refused "'vq.ema_w' is present but 'vq.cluster_size' is not; an EMA quantizer needs both." (edited ema (fun d -> d.Remove "vq.cluster_size" |> ignore))
    refused "cannot infer the architecture: tensor 'encoder.2.weight' is missing." (edited VqVaeConfig.Small (fun d -> d.Remove "encoder.2.weight" |> ignore))
    refused "cannot infer the architecture: 'vq.embedding.weight' must have 2 dimensions, got [16,4,1]."
        (edited VqVaeConfig.Small (fun d -> d["vq.embedding.weight"] <- [| 16; 4; 1 |]))
    refused "cannot tell the architecture: encoder.0.weight has a 5×5 kernel and encoder.4.weight a 3×3 kernel; expected 4 and 3 (reference), 4 and 1 (residual) or 3 and 1 (compact)."
        (edited VqVaeConfig.Small (fun d -> d["encoder.0.weight"] <- [| 8; 1; 5; 5 |]))
    let residual = VqVaeConfig.Paper.With(hidden = 16, codebookSize = 8, codeDim = 4, preset = "custom")
    refused "cannot infer the architecture: tensor 'encoder.3.layers.0.block.1.weight' is missing."
        (edited residual (fun d -> d.Remove "encoder.3.layers.0.block.1.weight" |> ignore))
