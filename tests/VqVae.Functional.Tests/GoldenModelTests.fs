/// The model against PyTorch 1.13 (tests/fixtures/vqvae_*.safetensors, README there): every
/// value, every gradient, and the exact set of gradient keys (absent where a term does not reach).
module VqVae.Functional.Tests.GoldenModelTests

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

/// max|ours − torch| / max|torch| for one tensor (the README's tolerance is 1e-5 of it, plus a little atol).
let relErr (ours: Tensor) (theirs: Tensor) =
    Assert.Equal<int[]>(theirs.Shape, ours.Shape)
    let a, b = ours.ToArray(), theirs.ToArray()
    maxAbsDiff a b / max (maxAbs b) 1e-30

type GoldenModel(output: ITestOutputHelper) =

    let run (file: string) (preset: VqVaeConfig) (tol: float) =
        let f = loadFixture file
        let cfg = preset.With(beta = 0.37f)
        let all = Dictionary<string, Tensor>()
        for n in f.Names do all[n] <- tensorOf f n
        let model = VqVaeModel.FromStateDict(cfg, all, strict = false)
        // The 13 state_dict keys are exactly the model's leaves, in order.
        let leafNames = Tree.Leaves model |> Seq.map (fun l -> l.Name) |> List.ofSeq
        Assert.Equal<string list>(f.Names |> Seq.take 13 |> List.ofSeq, leafNames)
        let x = all["x"]
        let errors = List<string * float>()
        let expect name (ours: Tensor) =
            let e = relErr ours all[name]
            errors.Add((name, e))

        let terms = VqVaeModel.LossTerms(model, x)
        let q = terms.Quantized
        expect "z_e" q.ZE
        expect "z_q" q.ZQ
        expect "decoder_input" q.DecoderInput
        expect "x_hat" terms.XHat
        Assert.Equal<int[]>(all["indices"].ToArray() |> Array.map (fun v -> int (MathF.Round v)), q.Indices.ToArray())
        for t in LossTerms.Names do expect ("loss/" + t) (terms.Term t)
        let p = float (all["perplexity"].ToScalar())
        errors.Add(("perplexity", abs (terms.Perplexity - p) / p))

        // Every gradient, and the routing: a key exists exactly where the term reaches.
        for t in LossTerms.Names do
            let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Term t) model
            let prefix = sprintf "grad/%s/" t
            let expectedKeys = f.Names |> Seq.filter (fun n -> n.StartsWith prefix && leafNames |> List.contains (n.Substring prefix.Length)) |> Set.ofSeq
            let ourKeys = gradLeaves model g |> List.choose (fun (n, _, v) -> v |> Option.map (fun _ -> prefix + n)) |> Set.ofList
            Assert.Equal<Set<string>>(expectedKeys, ourKeys)
            for n, _, v in gradLeaves model g do
                match v with
                | Some v -> expect (prefix + n) v
                | None -> ()

        // Straight-through: d recon / d z_e and d recon / d decoder input.
        let ze = all["z_e"]
        let reconOf (decoderInput: Tensor) = Loss.Reconstruction(cfg.Reconstruction, model.Decoder.Apply decoderInput, x)
        let gZe = Grad.Gradient((fun z -> reconOf (Quantizer.Quantize(model.Codebook.Embedding, z).DecoderInput)), ze)
        let gDec = Grad.Gradient(Func<_, _> reconOf, all["decoder_input"])
        expect "grad/recon/z_e" (nonNull "d recon / d z_e" gZe)
        expect "grad/recon/decoder_input" (nonNull "d recon / d decoder input" gDec)

        let worst = errors |> Seq.sortByDescending snd |> Seq.truncate 3 |> Seq.map (fun (n, e) -> sprintf "%s %.3g" n e) |> String.concat ", "
        output.WriteLine(sprintf "%s: %d tensors compared, worst relative errors: %s" file errors.Count worst)
        for n, e in errors do
            if e > tol then output.WriteLine(sprintf "  %s: %.3g" n e)
        let bad = errors |> Seq.filter (fun (_, e) -> e > tol) |> List.ofSeq
        Assert.True(bad.IsEmpty, sprintf "%s: over tolerance %g: %A" file tol bad)

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``the small model matches PyTorch in every value, gradient and gradient key``(backend: string) = onBackend backend <| fun () ->
        run "vqvae_small.safetensors" VqVaeConfig.Small 1e-5

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``the reference model matches PyTorch in every value, gradient and gradient key``(backend: string) = onBackend backend <| fun () ->
        run "vqvae_reference.safetensors" VqVaeConfig.Mnist 1e-5
