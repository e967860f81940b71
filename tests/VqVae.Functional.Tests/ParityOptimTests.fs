/// Optimizers and the EMA codebook update against PyTorch 1.13 (tests/fixtures/parity_optim and
/// parity_ema.safetensors): three steps of torch.optim.Adam / SGD fed fixed gradients (a leaf with
/// no gradient at a step is skipped, as torch skips grad None), and two EMA steps from our initial
/// state (cluster size 1, ema_w = codebook) with fixed rows and assignments.
module VqVae.Functional.Tests.ParityOptimTests

open System
open System.Text.Json
open Xunit
open Xunit.Abstractions
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Optim
open VqVae.Functional.Codebooks
open VqVae.Functional.Tests.TrainingHelpers
open VqVae.Functional.Tests.ParityHelpers

let private prop (e: JsonElement) (name: string) (dflt: float32) =
    match e.TryGetProperty name with
    | true, v when v.ValueKind = JsonValueKind.True -> 1f
    | true, v when v.ValueKind = JsonValueKind.False -> 0f
    | true, v -> v.GetSingle()
    | _ -> dflt

/// Our optimizer for a case's metadata ({"optimizer": "Adam"|"SGD", "lr", …}; torch's defaults otherwise).
let private optimizerOf (e: JsonElement) : IOptimizer =
    let lr = prop e "lr" nanf
    match jsonString (e.GetProperty "optimizer") with
    | "Adam" -> Adam.Create(lr, weightDecay = prop e "weight_decay" 0f)
    | "SGD" ->
        Sgd.Create(lr, momentum = prop e "momentum" 0f, dampening = prop e "dampening" 0f,
                   nesterov = (prop e "nesterov" 0f = 1f), weightDecay = prop e "weight_decay" 0f)
    | o -> failwithf "unknown optimizer %s" o

type ParityOptim(output: ITestOutputHelper) =

    member private _.RunOptimizers(prefix: string) =
        let fx = Fixture "parity_optim.safetensors"
        let cases = [ for c in (fx.Json "cases").EnumerateArray() -> jsonString c ] |> List.filter (fun c -> c.StartsWith prefix)
        Assert.NotEmpty cases
        let steps = int (fx.Meta "steps")
        let errs = Errors(prefix + " optimizers", output)
        for case in cases do
            let meta = fx.Json case
            let opt = optimizerOf meta
            let noGrad step = match meta.GetProperty("no_grad").TryGetProperty(string step) with
                              | true, v -> [ for n in v.EnumerateArray() -> jsonString n ]
                              | _ -> []
            let mutable p = { A = fx["p0/a"]; B = fx["p0/b"] }
            let mutable s = opt.Init p
            for step in 1 .. steps do
                let skip = noGrad step
                let g n = if List.contains n skip then Unchecked.defaultof<Tensor> else fx[sprintf "grad/%d/%s" step n]
                let struct (p', s') = opt.Update(asGrads p { A = g "a"; B = g "b" }, s, p)
                p <- p'
                s <- s'
                errs.Expect(sprintf "%s/%d/a" case step, fx[sprintf "%s/%d/a" case step], p.A)
                errs.Expect(sprintf "%s/%d/b" case step, fx[sprintf "%s/%d/b" case step], p.B)
        errs.Check()

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member this.``Adam (defaults, weight decay, a leaf skipped at one step) matches torch.optim.Adam over three steps``(backend: string) = onBackend backend <| fun () ->
        this.RunOptimizers "adam"

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member this.``SGD (momentum, Nesterov, weight decay, dampening, plain) matches torch.optim.SGD over three steps``(backend: string) = onBackend backend <| fun () ->
        this.RunOptimizers "sgd"

    [<Theory; MemberData("All", MemberType = typeof<Backends>)>]
    member _.``EMA codebook update matches a Sonnet-style PyTorch update over two steps from cluster size 1 and ema_w = codebook``(backend: string) = onBackend backend <| fun () ->
        let fx = Fixture "parity_ema.safetensors"
        let errs = Errors("ema", output)
        let codebook = fx["codebook"]
        for c in (fx.Json "cases").EnumerateObject() do
            let decay, eps = c.Value.GetProperty("decay").GetSingle(), c.Value.GetProperty("epsilon").GetSingle()
            let mutable state = EmaState.Init(Codebook codebook)
            Assert.Equal<float32[]>(Array.create codebook.Shape[0] 1f, state.ClusterSize.ToArray())
            let mutable e = codebook
            for step in 1 .. 2 do
                let k n = sprintf "%s/step%d/%s" c.Name step n
                let idx = fx[sprintf "step%d/indices" step].ToArray() |> Array.map (fun v -> int (MathF.Round v))
                let struct (s', e') = Ema.Update(state, e, fx[sprintf "step%d/z" step], idx, decay, eps)
                state <- s'
                e <- e'
                errs.Expect(k "cluster_size", fx[k "cluster_size"], state.ClusterSize)
                errs.Expect(k "ema_w", fx[k "ema_w"], state.EmaW)
                errs.Expect(k "embedding", fx[k "embedding"], e)
        errs.Check()
