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
    let path = Path.Combine(Path.GetTempPath(), $"prior-{Guid.NewGuid():N}.safetensors")
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
