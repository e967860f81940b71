/// Loss terms (DESIGN §4): each a mean over all elements, recomputed here by hand from the model's pieces.
module VqVae.Functional.Tests.LossTests

open System
open FsCheck.FSharp
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests.Properties

let meanSq (a: float32[]) (b: float32[]) = Array.fold2 (fun s (x: float32) (y: float32) -> s + (float x - float y) ** 2.0) 0.0 a b / float a.Length

let closeTo rel (expected: float) (actual: float32) = abs (float actual - expected) <= rel * max (abs expected) 1e-12

[<PropertyTest(30, Arbitrary = [| typeof<AnyCases> |])>]
let ``loss terms are the means of DESIGN §4 and total weighs commitment by β`` (c: ModelCase) = holdsOnEveryBackend <| fun () ->
    let m, x = modelOf c, batchOf c
    let t = VqVaeModel.LossTerms(m, x)
    let xs, xh = x.ToArray(), t.XHat.ToArray()
    let recon =
        match c.Config.Reconstruction with
        | ReconstructionLoss.Mse -> meanSq xh xs
        | ReconstructionLoss.MseOverVariance ->
            let mu = Array.averageBy float xs
            meanSq xh xs / (xs |> Array.averageBy (fun v -> (float v - mu) ** 2.0))
        | _ ->
            Array.map2 (fun (p: float32) (y: float32) ->
                -(float y * max (log (float p)) -100.0 + (1.0 - float y) * max (log (1.0 - float p)) -100.0)) xh xs
            |> Array.average
    let q = t.Quantized
    let vq = meanSq (q.ZQ.ToArray()) (q.ZE.ToArray())
    let beta = float c.Config.Beta
    let total = if c.Config.Quantizer = QuantizerKind.Ema then recon + beta * vq else recon + vq + beta * vq
    closeTo 1e-4 recon (t.Recon.ToScalar()) && closeTo 1e-5 vq (t.Codebook.ToScalar())
    && closeTo 1e-5 vq (t.Commitment.ToScalar()) && closeTo 1e-4 total (t.Total.ToScalar())
    && t.Perplexity = q.Perplexity

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``BCE clamps its logs at −100 like PyTorch and its gradient stays finite`` (backend: string) = onBackend backend <| fun () ->
    let xHat = Tensor.FromArray([| 0.0f; 1.0f; 0.5f |], 3)
    let x = Tensor.FromArray([| 1.0f; 0.0f; 1.0f |], 3)
    let v = Loss.Bce(xHat, x).ToScalar()
    Assert.Equal((100.0 + 100.0 + log 2.0) / 3.0, float v, 4)
    let g = Grad.Gradient(Func<_, _>(fun p -> Loss.Bce(p, x)), xHat) |> nonNull "d bce / d x̂"
    Assert.All(g.ToArray(), fun v -> Assert.True(Single.IsFinite v))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``MSE over variance divides by the batch's variance and rejects a constant batch`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 0.0f; 1.0f; 2.0f; 3.0f |], 1, 1, 2, 2)
    let xHat = Tensor.Zeros(1, 1, 2, 2)
    Assert.Equal(3.5 / 1.25, float (Loss.MseOverVariance(xHat, x).ToScalar()), 5)
    let ex = Assert.Throws<ArgumentException>(fun () -> Loss.MseOverVariance(xHat, Tensor.Ones(1, 1, 2, 2)) |> ignore)
    Assert.Contains("var(x) = 0", ex.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``reconstruction rejects x̂ and x of different shapes`` (backend: string) = onBackend backend <| fun () ->
    let ex = Assert.Throws<ArgumentException>(fun () -> Loss.Reconstruction(ReconstructionLoss.Mse, Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 8, 8)) |> ignore)
    Assert.Contains("[1,1,4,4]", ex.Message); Assert.Contains("[1,1,8,8]", ex.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``inference reconstructs like evaluation-mode loss terms and records no tape`` (backend: string) = onBackend backend <| fun () ->
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
    let m = VqVaeModel.Init(cfg, Rng.Seed 7L)
    let x = Tensor.Uniform(Rng.Seed 8L, 0.0f, 1.0f, 2, 1, 8, 8)
    let tracked = Tree.Map(m, fun t -> t)       // same values
    let xHat = VqVaeModel.Reconstruct(m, x)
    Assert.False(xHat.IsTracked)
    Assert.Equal<float32[]>(VqVaeModel.LossTerms(tracked, x, training = false).XHat.ToArray(), xHat.ToArray())
    Assert.Equal<string list>([ "recon"; "codebook"; "commitment"; "total" ], List.ofSeq LossTerms.Names)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``BCE rejects an x̂ outside [0, 1] instead of returning NaN`` (backend: string) = onBackend backend <| fun () ->
    let ex = Assert.Throws<ArgumentException>(fun () -> Loss.Bce(Tensor.FromArray([| 1.5f |], 1), Tensor.Ones 1) |> ignore)
    Assert.Contains("1.5", ex.Message)

[<Fact>]
let ``an unknown term name is refused naming the argument and the four names`` () =
    let m = VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2), Rng.Seed 3L)
    let t = VqVaeModel.LossTerms(m, Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 1, 8, 8))
    for name in [ "Recon"; "loss"; "" ] do
        let e = Assert.Throws<ArgumentException>(fun () -> t.Term name |> ignore)
        Assert.Equal("name", e.ParamName)
        Assert.StartsWith($"loss terms: unknown term '{name}'; expected recon, codebook, commitment or total.", e.Message)

/// The reconstruction losses' edges (found unpinned by mutation testing): BCE takes x̂ in the closed [0, 1];
/// its log is the exact log down to the smallest normal float (with its gradient), held constant below it and
/// clamped at −100; MSE over variance refuses a zero or infinite variance; the shape check names x̂.
[<Fact>]
let ``BCE's range, its log below the smallest normal float, MSE over variance's variance and the shape check`` () =
    let one = Tensor.Ones 1
    let bce (p: float32) = float (Loss.Bce(Tensor.FromArray([| p |], 1), one).ToScalar())
    Assert.Equal(0.0, bce 1f)
    Assert.Equal(100.0, bce 0f)
    Assert.Equal(-log (float 1.17549435e-38f), bce 1.17549435e-38f, 3)   // 87.34: the smallest normal keeps its log
    Assert.Equal(-log 1e-40, bce 1e-40f, 2)                               // 92.10: a subnormal's log, not −100
    // At the smallest normal the gradient is the log's, −x/x̂; below it the log is held constant (gradient 0).
    let gradAt (p: float32) = (Grad.Gradient(Func<_, _>(fun t -> Loss.Bce(t, one)), Tensor.FromArray([| p |], 1)) |> nonNull "d bce").ToArray()[0]
    Assert.Equal(-1.0 / float 1.17549435e-38f, float (gradAt 1.17549435e-38f), 1e32)
    Assert.Equal(0f, gradAt 1e-40f)
    for bad in [ -1e-7f; 1.0000001f; nanf ] do
        let e = Assert.Throws<ArgumentException>(fun () -> Loss.Bce(Tensor.FromArray([| 0.5f; bad |], 2), Tensor.Ones 2) |> ignore)
        Assert.Equal("xHat", e.ParamName)
        Assert.StartsWith("reconstruction: BCE needs x̂ in [0, 1] (a Sigmoid output), found ", e.Message)
    for x in [ Tensor.Full(0.25f, 1, 1, 2, 2); Tensor.FromArray([| -3e38f; 3e38f; -3e38f; 3e38f |], 1, 1, 2, 2) ] do
        let e = Assert.Throws<ArgumentException>(fun () -> Loss.MseOverVariance(Tensor.Zeros(1, 1, 2, 2), x) |> ignore)
        Assert.Equal("x", e.ParamName)
        Assert.StartsWith("reconstruction: MseOverVariance needs a batch with positive, finite variance, got var(x) = ", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.Reconstruction(ReconstructionLoss.Bce, Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 4, 2)) |> ignore)
    Assert.Equal("xHat", e.ParamName)
    Assert.StartsWith("reconstruction: x̂ [1,1,4,4] and x [1,1,4,2] must have the same shape.", e.Message)

[<Fact>]
let ``the total adds the codebook term except for the EMA quantizer, and weighs commitment by β`` () =
    let s (v: float32) = Tensor.Scalar v
    Assert.Equal(1f + 2f + 0.5f * 4f, Loss.Total(QuantizerKind.Straight, 0.5f, s 1f, s 2f, s 4f).ToScalar())
    Assert.Equal(1f + 0.5f * 4f, Loss.Total(QuantizerKind.Ema, 0.5f, s 1f, s 2f, s 4f).ToScalar())
    Assert.Equal(0.125f, Loss.Codebook(Tensor.FromArray([| 1f; 2f |], 2), Tensor.FromArray([| 1.5f; 2f |], 2)).ToScalar())
    Assert.Equal(2f, Loss.Commitment(Tensor.FromArray([| 1f; 2f |], 2), Tensor.FromArray([| 1f; 4f |], 2)).ToScalar())
