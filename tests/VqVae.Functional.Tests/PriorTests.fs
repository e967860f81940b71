/// The Gated PixelCNN prior beyond causality: it learns (loss falls far below log K on codes with
/// structure), samples follow what it learned, sampling is seeded, top-k and temperature do what
/// they say, checkpoints round-trip, bad input gets a clear error.
module VqVae.Functional.Tests.PriorTests

open System
open System.IO
open Xunit
open VqVae.Tensors
open VqVae.Functional.Optim
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Tensors.Tests.Refusals
open VqVae.Tensors.Tests

let private k, h, w = 4, 3, 3

/// Grids whose codes count up in raster order from a random start: code p = (start + p) mod K.
/// Only the first code is uncertain (log K nats); every other one is determined by the one before.
let private countingGrids (seed: int) (n: int) =
    let rng = Rng.Seed(int64 seed)
    let a = Array.init (n * h * w) (fun i -> let b, p = i / (h * w), i % (h * w) in (rng.IntAt(int64 b, k) + p) % k)
    CodeIndices.Of(a, n, h, w)

let private train steps =
    let cfg = PriorConfig(k, h, w, 8, 2, 3)
    let adam = Adam(3e-3f)
    let mutable prior = PriorModel.Init(cfg, Rng.Seed(1L))
    let mutable state = (adam :> IOptimizer).Init(prior)
    let first = PriorTraining.MeanNats(prior, countingGrids 99 32)
    for s in 1 .. steps do
        let struct (p, st, _) = PriorTraining.Step(adam, prior, state, countingGrids s 16)
        prior <- p; state <- st
    prior, first

let private trained = lazy (train 250)

[<Fact>]
let ``a prior learns codes with structure: held-out loss far below log K`` () =
    let prior, first = trained.Value
    let heldOut = PriorTraining.MeanNats(prior, countingGrids 12345 64)
    // the entropy of this data is log K / 9 per code (only the first code is random)
    Assert.True(first > 0.8 * log (float k), $"untrained loss {first} should be near log K = {log (float k)}")
    Assert.True(heldOut < 0.35 * log (float k), $"held-out loss {heldOut} nats, log K = {log (float k)}")
    let bits = PriorModel.Loss(prior, countingGrids 12345 64).BitsPerCode
    Assert.Equal(heldOut / log 2.0, bits, 3)

[<Fact>]
let ``samples follow the learned rule, and the same seed gives the same samples`` () =
    let prior, _ = trained.Value
    let s = PriorSampling.Sample(prior, 16, SamplingOptions(1f, 0, 7L))
    let v = s.Values
    let mutable ok, total = 0, 0
    for b in 0 .. 15 do
        for p in 1 .. h * w - 1 do
            total <- total + 1
            if v[b * h * w + p] = (v[b * h * w + p - 1] + 1) % k then ok <- ok + 1
    Assert.True(float ok / float total > 0.9, $"{ok} of {total} transitions follow the rule")
    Assert.Equal<int seq>(v, PriorSampling.Sample(prior, 16, SamplingOptions(1f, 0, 7L)).Values)
    Assert.NotEqual<int seq>(v, PriorSampling.Sample(prior, 16, SamplingOptions(1f, 0, 8L)).Values)

[<Fact>]
let ``top-k 1 is greedy decoding and top-k 2 only draws from the two most likely codes`` () =
    let prior = PriorModel.Init(PriorConfig(6, 2, 3, 4, 2, 3), Rng.Seed(3L))
    let check (topK: int) (seed: int64) =
        let s = PriorSampling.Sample(prior, 8, SamplingOptions(1.5f, topK, seed))
        let logits = PriorModel.Logits(prior, s)
        for b in 0 .. 7 do
            for p in 0 .. 5 do
                let l = Array.init 6 (fun c -> logits[b, c, p / 3, p % 3])
                let rank = l |> Array.filter (fun x -> x > l[s.Values[b * 6 + p]]) |> Array.length
                Assert.True(rank < topK, $"top-{topK}: sample {b} position {p} drew a code of rank {rank + 1}")
    check 1 1L
    check 2 2L
    check 2 3L

[<Fact>]
let ``low temperature concentrates on the most likely code`` () =
    let probs = Array.zeroCreate 3
    let logits = [| 0f; 1f; 0.5f |]
    let draws t = Array.init 200 (fun i -> PriorSampling.Draw(logits.AsSpan(), SamplingOptions(t, 0, 0L), probs, float32 i / 200f))
    Assert.True((draws 0.05f |> Array.filter ((=) 1) |> Array.length) >= 198)
    let spread = draws 1f |> Array.countBy id |> Array.length
    Assert.Equal(3, spread)

[<Fact>]
let ``a prior checkpoint round-trips and names its VQ-VAE`` () =
    let cfg = PriorConfig(5, 2, 2, 4, 2, 3, Classes = 3)
    let prior = PriorModel.Init(cfg, Rng.Seed(4L))
    let path = Scratch.path "prior.safetensors"
    try
        PriorCheckpoint.Save(path, prior, "model.safetensors sha256:abc")
        let loaded = PriorCheckpoint.Load(path)
        Assert.Equal(cfg, loaded.Prior.Config)
        Assert.Equal("model.safetensors sha256:abc", loaded.VqVae)
        let a, b = Tree.Leaves(prior), Tree.Leaves(loaded.Prior)
        Assert.Equal<string seq>(a |> Seq.map (fun l -> l.Name), b |> Seq.map (fun l -> l.Name))
        for la, lb in Seq.zip a b do Assert.Equal<float32[]>(la.Value.ToArray(), lb.Value.ToArray())
        Assert.Contains("layers.1.class_cond.weight", a |> Seq.map (fun l -> l.Name))
    finally File.Delete path

[<Fact>]
let ``bad input to the prior names the argument`` () =
    let prior = PriorModel.Init(PriorConfig(4, 2, 2, 2, 1, 3), Rng.Seed(0L))
    let e1 = Assert.Throws<ArgumentException>(fun () -> PriorModel.Logits(prior, CodeIndices.Of(Array.zeroCreate 9, 1, 3, 3)) |> ignore)
    Assert.Contains("3×3", e1.Message)
    let e2 = Assert.ThrowsAny<ArgumentException>(fun () -> PriorModel.Logits(prior, CodeIndices.Of([| 0; 1; 2; 9 |], 1, 2, 2)) |> ignore)
    Assert.Contains("9", e2.Message)
    Assert.ThrowsAny<ArgumentException>(fun () -> PriorSampling.Sample(prior, 2, SamplingOptions(0f, 0, 0L)) |> ignore) |> ignore
    Assert.ThrowsAny<ArgumentException>(fun () -> PriorSampling.Sample(prior, 2, SamplingOptions(1f, -1, 0L)) |> ignore) |> ignore
    let e3 = Assert.Throws<ArgumentException>(fun () -> PriorConfig(4, 2, 2, Kernel = 4).Validate() |> ignore)
    Assert.Contains("odd", e3.Message)
    let conditional = PriorModel.Init(PriorConfig(4, 2, 2, 2, 1, 3, Classes = 2), Rng.Seed(0L))
    let e4 = Assert.Throws<ArgumentException>(fun () -> PriorModel.Logits(conditional, CodeIndices.Of(Array.zeroCreate 4, 1, 2, 2)) |> ignore)
    Assert.Contains("labels", e4.Message)

/// Asserts that f throws 'e (exactly) naming the argument `name`, with a message starting with `text`.
/// The share of each code over draws at u = (j + ½) / n, j < n: a draw is the inverse distribution function
/// at u, so each share is the code's probability to within 1/n.
let private shares (logits: float32[]) (o: SamplingOptions) =
    let n = 7000
    let probs = Array.zeroCreate logits.Length
    let counts = Array.zeroCreate logits.Length
    for j in 0 .. n - 1 do
        let c = PriorSampling.Draw(logits.AsSpan(), o, probs, float32 ((float j + 0.5) / float n))
        counts[c] <- counts[c] + 1
    counts |> Array.map (fun c -> float c / float n)

[<Fact>]
let ``a draw gives each code its softmax share, with temperature, top-k (ties kept) and logits too large for exp`` () =
    let near (expected: float[]) (o: SamplingOptions) (logits: float32[]) =
        let got = shares logits o
        Assert.True(Array.forall2 (fun e g -> abs (e - g) < 2e-3) expected got, $"%A{logits} with {o}: shares %A{got}, expected %A{expected}")
    let l = [| 0f; log 2f; log 4f |]                       // probabilities 1 : 2 : 4
    near [| 1. / 7.; 2. / 7.; 4. / 7. |] (SamplingOptions()) l
    near [| 0.; 1. / 3.; 2. / 3. |] (SamplingOptions(TopK = 2)) l
    near [| 0.; 0.; 1. |] (SamplingOptions(TopK = 1)) l
    near [| 1. / 7.; 2. / 7.; 4. / 7. |] (SamplingOptions(TopK = 3)) l
    near [| 1. / 7.; 2. / 7.; 4. / 7. |] (SamplingOptions(TopK = 9)) l   // more than K: every code
    let s = sqrt 2.0
    near [| 1. / (3. + s); s / (3. + s); 2. / (3. + s) |] (SamplingOptions(Temperature = 2f)) l
    near [| 1. / 7.; 2. / 7.; 4. / 7. |] (SamplingOptions()) (l |> Array.map ((+) 1000f))   // exp(1000) is infinite
    near [| 0.5; 0.5; 0. |] (SamplingOptions(TopK = 1)) [| 1f; 1f; 0f |]                 // a tie at the k-th value is kept

[<Fact>]
let ``sampling names a bad option or count, and refuses a prior whose logits are not finite`` () =
    let refused name text f = refusedAs<ArgumentOutOfRangeException> name text f |> ignore
    for t in [ 0f; -1f; nanf; infinityf ] do
        refused "Temperature" "sampling: temperature must be a positive number." (fun () -> SamplingOptions(Temperature = t).Validate())
    refused "TopK" "sampling: top-k must be ≥ 0 (0: no restriction)." (fun () -> SamplingOptions(TopK = -1).Validate())
    let prior = PriorModel.Init(PriorConfig(4, 2, 2, 2, 1, 3), Rng.Seed 0L)
    refused "count" "sampling: count must be ≥ 1." (fun () -> PriorSampling.Sample(prior, 0))
    Assert.Equal<int[]>([| 1; 2; 2 |], PriorSampling.Sample(prior, 1).Shape)
    // A diverged prior: one code's logit is NaN everywhere. Without the check each draw would silently pick another code.
    for code in [ 0; 2 ] do
        let nanAt = Tensor.FromArray(Array.init 4 (fun c -> if c = code then nanf else 0f), 4)
        let leaves = Tree.Leaves prior |> Seq.map (fun l -> if l.Name = "out.2.bias" then nanAt else l.Value) |> Array.ofSeq
        let broken = Tree.FromLeaves(prior, leaves)
        let e = Assert.Throws<InvalidOperationException>(fun () -> PriorSampling.Sample(broken, 2) |> ignore)
        Assert.Contains($"sampling: the prior's logit for code {code} of sample 0 at position 0 is NaN", e.Message)

[<Fact>]
let ``a prior config names the first field out of range, and a grid condition must divide the grid`` () =
    let refused name text (c: PriorConfig) = refusedAs<ArgumentException> name text (fun () -> c.Validate()) |> ignore
    let ok = PriorConfig(4, 4, 6, 2, 1, 3)
    Assert.Same(ok, ok.Validate())
    PriorConfig(1, 1, 1, 1, 1, 1, 0, 0).Validate() |> ignore   // every bound at its lowest
    for name, c in [ "CodebookSize", PriorConfig(0, 4, 6, 2, 1, 3); "Height", PriorConfig(4, 0, 6, 2, 1, 3)
                     "Width", PriorConfig(4, 4, 0, 2, 1, 3); "Channels", PriorConfig(4, 4, 6, 0, 1, 3)
                     "Layers", PriorConfig(4, 4, 6, 2, 0, 3); "Kernel", PriorConfig(4, 4, 6, 2, 1, 0) ] do
        refused name $"prior config: {name} must be ≥ 1, got 0." c
    refused "Kernel" "prior config: Kernel must be odd (a centre tap), got 4." (PriorConfig(4, 4, 6, 2, 1, 4))
    refused "Classes" "prior config: Classes must be ≥ 0, got -1." (PriorConfig(4, 4, 6, 2, 1, 3, -1))
    refused "ConditionCodes" "prior config: ConditionCodes must be ≥ 0, got -1." (PriorConfig(4, 4, 6, 2, 1, 3, 0, -1))
    // With condition codes, the condition grid must be at least 1×1 and divide the grid on both axes.
    PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 2, 3).Validate() |> ignore
    PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 4, 6).Validate() |> ignore
    refused "ConditionHeight" "prior config: ConditionHeight must be ≥ 1, got 0." (PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 0, 3))
    refused "ConditionWidth" "prior config: ConditionWidth must be ≥ 1, got 0." (PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 2, 0))
    refused "ConditionHeight" "prior config: the grid 4×6 must be a whole multiple of the condition grid 3×3." (PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 3, 3))
    refused "ConditionHeight" "prior config: the grid 4×6 must be a whole multiple of the condition grid 2×4." (PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 2, 4))
    // A checkpoint's config text: round trip, and the two ways it can be unreadable, by name.
    let c = PriorConfig(4, 4, 6, 2, 1, 3, 0, 5, 2, 3)
    Assert.Equal(c, PriorConfig.FromJson(c.ToJson()))
    refusedAs<ArgumentException> "json" "prior config: not valid JSON (" (fun () -> PriorConfig.FromJson "{") |> ignore
    refusedAs<ArgumentException> "json" "prior config: the JSON is null." (fun () -> PriorConfig.FromJson "null") |> ignore
    refusedAs<ArgumentException> "CodebookSize" "prior config: CodebookSize must be ≥ 1, got 0." (fun () -> PriorConfig.FromJson((PriorConfig(1, 4, 6, 2, 1, 3)).ToJson().Replace("\"CodebookSize\":1", "\"CodebookSize\":0"))) |> ignore
