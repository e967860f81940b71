/// The mnistSmall and paper presets and BCE reconstruction against PyTorch 1.13
/// (tests/fixtures/parity_{mnist_small,paper,bce}.safetensors): every intermediate value, loss term,
/// per-term gradient and the exact set of gradient keys (absent where a term does not reach).
module VqVae.Functional.Tests.ParityPresetsTests

open System
open System.Collections.Generic
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

/// Loads the model stored under `prefix` in `fx` with `cfg`, checks that the fixture's parameter
/// list (metadata "params", torch's state_dict order) is exactly our leaves, then compares z_e,
/// indices, z_q, decoder input, x̂, the loss terms, perplexity and every gradient into `errs`.
/// `skipGrad name` leaves a gradient out of the comparison (its key set is still checked).
let compareModel (fx: Fixture) (prefix: string) (cfg: VqVaeConfig) (errs: Errors) (skipGrad: string -> bool) =
    // The fixtures feed the network its inputs as they are (the PyTorch modules have no input
    // shift), so the model compares the raw network: input shift 0.
    let cfg = cfg.With(inputShift = 0f)
    let paramNames = [ for e in (fx.Json "params").EnumerateArray() -> jsonString e ]
    let dict = Dictionary<string, Tensor>()
    for n in paramNames do dict[n] <- fx[prefix + n]
    let model = VqVaeModel.FromStateDict(cfg, dict, strict = true)
    let leafNames = Tree.Leaves model |> Seq.map (fun l -> l.Name) |> List.ofSeq
    Assert.Equal<string list>(paramNames, leafNames)
    let x = fx[prefix + "x"]
    let terms = VqVaeModel.LossTerms(model, x)
    let q = terms.Quantized
    Assert.Equal<int[]>(fx[prefix + "indices"].ToArray() |> Array.map (fun v -> int (MathF.Round v)), q.Indices.ToArray())
    errs.Expect("z_e", fx[prefix + "z_e"], q.ZE)
    errs.Expect("z_q", fx[prefix + "z_q"], q.ZQ)
    errs.Expect("decoder_input", fx[prefix + "decoder_input"], q.DecoderInput)
    errs.Expect("x_hat", fx[prefix + "x_hat"], terms.XHat)
    for t in LossTerms.Names do errs.Expect("loss/" + t, fx[prefix + "loss/" + t], terms.Term t)
    errs.ExpectScalar("perplexity", float (fx[prefix + "perplexity"].ToScalar()), terms.Perplexity)
    for t in LossTerms.Names do
        let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Term t) model
        let keyPrefix = sprintf "grad/%s/" t
        let expected = paramNames |> List.filter (fun n -> fx.Has(prefix + keyPrefix + n)) |> Set.ofList
        let ours = gradLeaves model g |> List.choose (fun (n, _, v) -> v |> Option.map (fun _ -> n)) |> Set.ofList
        Assert.True((expected = ours), sprintf "%s: %s reaches %A, torch: %A" fx.File t ours expected)
        for n, _, v in gradLeaves model g do
            match v with
            | Some v when not (skipGrad (keyPrefix + n)) -> errs.Expect(keyPrefix + n, fx[prefix + keyPrefix + n], v)
            | _ -> ()
    // Straight-through: d recon / d z_e equals d recon / d decoder input.
    let reconOf (decoderInput: Tensor) = Loss.Reconstruction(cfg.Reconstruction, model.Decoder.Apply decoderInput, x)
    let gZe = Grad.Gradient((fun z -> reconOf (Quantizer.Quantize(model.Codebook.Embedding, z).DecoderInput)), fx[prefix + "z_e"])
    let gDec = Grad.Gradient(Func<_, _> reconOf, fx[prefix + "decoder_input"])
    if not (skipGrad "grad/recon/z_e") then
        errs.Expect("grad/recon/z_e", fx[prefix + "grad/recon/z_e"], gZe)
        errs.Expect("grad/recon/decoder_input", fx[prefix + "grad/recon/decoder_input"], gDec)
    model, x, terms

type ParityPresets(output: ITestOutputHelper) =

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``mnistSmall preset (MSE over var(x), 3x3 convs, convT with output padding) matches PyTorch in values, gradients and gradient keys``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_mnist_small.safetensors"
        let cfg = VqVaeConfig.MnistSmall.With(beta = 0.61f)
        Assert.Equal(VqVaeConfig.ByName "mnistSmall", VqVaeConfig.MnistSmall)
        let errs = Errors("mnistSmall", output)
        compareModel fx "" cfg errs (fun _ -> false) |> ignore
        errs.Check()

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``paper preset with residual stacks (small sizes) matches PyTorch in values, gradients and gradient keys``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_paper.safetensors"
        let cfg = VqVaeConfig.Paper.With(hidden = 16, codebookSize = 32, codeDim = 8, residualHidden = 8, beta = 0.43f)
        Assert.Equal(2, cfg.ResidualLayers)
        let errs = Errors("paper", output)
        compareModel fx "" cfg errs (fun _ -> false) |> ignore
        errs.Check()

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``BCE reconstruction on the small reference model matches PyTorch in values and gradients``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_bce.safetensors"
        let cfg = VqVaeConfig.Small.With(beta = 0.29f, reconstruction = ReconstructionLoss.Bce)
        let errs = Errors("bce model", output)
        compareModel fx "model/" cfg errs (fun _ -> false) |> ignore
        errs.Check()

    /// Values match F.binary_cross_entropy everywhere. Gradients of recon and total cannot: where
    /// x̂(1 − x̂) < 1e-12 torch's fused backward uses (x̂ − x) / 1e-12 instead of the derivative, and
    /// through the sigmoid that vanishes (x̂ < 1e-12) where ours gives the logit gradient x̂ − x. So
    /// they are checked against autograd of the same clamped-log formula (clamped_log_grad/…), and
    /// the distance to torch's fused-backward gradients is printed.
    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``BCE with saturated pixels (x_hat exactly 0 or 1, or below 1e-12) matches PyTorch in values, and its clamped-log autograd in gradients``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_bce.safetensors"
        let cfg = VqVaeConfig.Small.With(beta = 0.29f, reconstruction = ReconstructionLoss.Bce)
        let errs = Errors("bce saturated", output)
        let bceGrad (key: string) = key.StartsWith "grad/recon/" || key.StartsWith "grad/total/"
        let model, x, terms = compareModel fx "saturated/" cfg errs bceGrad
        let xh = terms.XHat.ToArray()
        Assert.Contains(1f, xh)
        Assert.Contains(0f, xh)
        Assert.True(xh |> Array.exists (fun v -> v > 0f && v < 1e-12f), "no pixel in (0, 1e-12)")
        let fused = Errors("bce saturated vs torch's fused BCE backward (reported, not checked)", output)
        for t in [ "recon"; "total" ] do
            let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Term t) model
            for n, _, v in gradLeaves model g do
                match v with
                | Some v ->
                    errs.Expect(sprintf "clamped_log_grad/%s/%s" t n, fx[sprintf "saturated/clamped_log_grad/%s/%s" t n], v)
                    fused.Expect(sprintf "grad/%s/%s" t n, fx[sprintf "saturated/grad/%s/%s" t n], v)
                | None -> Assert.False(fx.Has(sprintf "saturated/clamped_log_grad/%s/%s" t n), sprintf "%s does not reach %s" t n)
        let reconOf (decoderInput: Tensor) = Loss.Reconstruction(cfg.Reconstruction, model.Decoder.Apply decoderInput, x)
        let gZe = Grad.Gradient((fun z -> reconOf (Quantizer.Quantize(model.Codebook.Embedding, z).DecoderInput)), fx["saturated/z_e"])
        errs.Expect("clamped_log_grad/recon/z_e", fx["saturated/clamped_log_grad/recon/z_e"], gZe)
        fused.Expect("grad/recon/z_e", fx["saturated/grad/recon/z_e"], gZe)
        let name, e = fused.Worst
        output.WriteLine(sprintf "bce saturated: worst distance to torch's fused backward: %s %.3g (expected: the 1e-12 floor)" name e)
        errs.Check()

    /// Inside torch's floor (x̂(1 − x̂) < 1e-12) the gradients differ by design; they are printed.
    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``BCE alone matches PyTorch's binary_cross_entropy on crafted x_hat (value, and gradient where x_hat(1-x_hat) >= 1e-12)``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_bce.safetensors"
        let xHat, x = fx["direct/x_hat"], fx["direct/x"]
        let errs = Errors("bce direct", output)
        let struct (loss, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(fun p -> Loss.Bce(p, x)), xHat)
        errs.Expect("loss", fx["direct/loss"], loss)
        let g = nonNull "d bce / d x_hat" g
        let region = fx["direct/torch_eps_region"].ToArray()
        let mask (t: Tensor) = Tensor.FromArray(Array.map2 (fun v r -> if r = 0f then v else 0f) (t.ToArray()) region, t.Shape)
        errs.Expect("grad_x_hat outside torch's 1e-12 floor", mask fx["direct/grad_x_hat"], mask g)
        let ours, theirs, xh, xs = g.ToArray(), fx["direct/grad_x_hat"].ToArray(), xHat.ToArray(), x.ToArray()
        for i in 0 .. region.Length - 1 do
            if region[i] <> 0f then
                output.WriteLine(sprintf "  inside torch's floor: x_hat %g, x %g: ours %g, torch %g" xh[i] xs[i] ours[i] theirs[i])
        errs.Check()
