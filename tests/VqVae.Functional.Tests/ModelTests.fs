/// Model records: state_dict names (DESIGN §6), initialisation, presets, shapes, validation,
/// state dicts, BatchNorm's running statistics.
module VqVae.Functional.Tests.ModelTests

open System
open System.Collections.Generic
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators

let tiny = VqVaeConfig.Small.With(hidden = 4, codebookSize = 8, codeDim = 2)
let names (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Name) |> List.ofSeq
let shapes (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Name, List.ofArray (nonNull l.Name l.Value).Shape) |> List.ofSeq

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the reference model's leaves are the PyTorch state_dict names and shapes`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(VqVaeConfig.Mnist, Rng.Seed 0L)
    let expected =
        [ "encoder.0.weight", [ 128; 1; 4; 4 ]; "encoder.0.bias", [ 128 ]
          "encoder.2.weight", [ 128; 128; 4; 4 ]; "encoder.2.bias", [ 128 ]
          "encoder.4.weight", [ 64; 128; 3; 3 ]; "encoder.4.bias", [ 64 ]
          "vq.embedding.weight", [ 512; 64 ]
          "decoder.0.weight", [ 128; 64; 3; 3 ]; "decoder.0.bias", [ 128 ]
          "decoder.2.weight", [ 128; 128; 4; 4 ]; "decoder.2.bias", [ 128 ]
          "decoder.4.weight", [ 128; 1; 4; 4 ]; "decoder.4.bias", [ 1 ] ]
    Assert.Equal<(string * int list) list>(expected, shapes m)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``an EMA model adds vq.cluster_size and vq.ema_w as buffers`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(tiny.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let groups = m.Groups() |> Seq.map (fun struct (n, g) -> n, g) |> Map.ofSeq
    Assert.Equal(ParameterGroup.Buffer, groups["vq.cluster_size"])
    Assert.Equal(ParameterGroup.Buffer, groups["vq.ema_w"])
    Assert.Equal(ParameterGroup.Codebook, groups["vq.embedding.weight"])
    Assert.Equal(ParameterGroup.Encoder, m.GroupOf "encoder.0.weight")
    Assert.Equal(ParameterGroup.Decoder, m.GroupOf "decoder.4.bias")
    let ema = m.Ema |> Option.ofObj |> Option.get
    Assert.All(ema.ClusterSize.ToArray(), fun v -> Assert.Equal(1.0f, v))
    Assert.Equal<float32[]>(m.Codebook.Embedding.ToArray(), ema.EmaW.ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``init is a pure function of config and key, with PyTorch's bounds`` (backend: string) = onBackend backend <| fun () ->
    let cfg = tiny.With(hidden = 6, codebookSize = 10)
    let a, b, c = VqVaeModel.Init(cfg, Rng.Seed 5L), VqVaeModel.Init(cfg, Rng.Seed 5L), VqVaeModel.Init(cfg, Rng.Seed 6L)
    let values (m: VqVaeModel) = Tree.Leaves m |> Seq.collect (fun l -> (nonNull l.Name l.Value).ToArray()) |> Array.ofSeq
    Assert.Equal<float32[]>(values a, values b)
    Assert.NotEqual<float32[]>(values a, values c)
    let leaf name = (Tree.Leaves a |> Seq.find (fun l -> l.Name = name)).Value |> nonNull name
    let within bound name = Assert.True(maxAbs ((leaf name).ToArray()) <= bound, name)
    within (1.0 / sqrt 16.0) "encoder.0.weight"             // Conv2d: fan_in = Cin·kh·kw = 1·4·4
    within (1.0 / sqrt (6.0 * 16.0)) "encoder.2.weight"
    within (1.0 / sqrt (2.0 * 9.0)) "decoder.0.bias"
    within (1.0 / 10.0) "vq.embedding.weight"
    // ConvTranspose2d [Cin=6, Cout=1, 4, 4]: PyTorch's fan_in is Cout·kh·kw = 16, so U(±0.25), not U(±1/√96).
    within 0.25 "decoder.4.weight"
    Assert.True(maxAbs ((leaf "decoder.4.weight").ToArray()) > 1.0 / sqrt 96.0)

[<Theory>]
[<InlineData("mnist")>]
[<InlineData("mnistSmall")>]
[<InlineData("paper")>]
let ``every preset maps 28×28 images to 7×7 latents and back`` (preset: string) =
    let cfg = VqVaeConfig.ByName(preset).With(hidden = 4, codebookSize = 8, codeDim = 3)
    let m = VqVaeModel.Init(cfg, Rng.Seed 2L)
    let x = Tensor.Uniform(Rng.Seed 3L, 0.0f, 1.0f, 2, 1, 28, 28)
    Assert.Equal<int[]>([| 2; 3; 7; 7 |], VqVaeModel.Encode(m, x).Shape)
    Assert.Equal<int[]>([| 2; 1; 28; 28 |], VqVaeModel.Reconstruct(m, x).Shape)
    Assert.Equal(preset, cfg.Preset)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the paper preset names its residual blocks like a PyTorch module`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(VqVaeConfig.Paper.With(hidden = 4, codebookSize = 4, codeDim = 2), Rng.Seed 0L)
    let n = names m
    for expected in [ "encoder.3.layers.0.block.1.weight"; "encoder.3.layers.1.block.3.bias"; "encoder.4.weight"
                      "decoder.1.layers.1.block.1.weight"; "decoder.4.bias" ] do
        Assert.Contains(expected, n)
    Assert.Equal(2, VqVaeConfig.Paper.ResidualLayers)
    Assert.Equal(256, VqVaeConfig.Paper.Hidden)
    Assert.Equal(512, VqVaeConfig.Paper.CodebookSize)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``bad configs are rejected naming the field and the value`` (backend: string) = onBackend backend <| fun () ->
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.Init(tiny.With(codebookSize = 0), Rng.Seed 0L) |> ignore)
    Assert.Contains("CodebookSize", ex.Message); Assert.Contains("got 0", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> tiny.With(beta = -0.5f).Validate() |> ignore)
    Assert.Contains("Beta", ex.Message); Assert.Contains("-0.5", ex.Message)
    Assert.Throws<ArgumentException>(fun () -> tiny.With(emaDecay = 1.0f).Validate() |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> VqVaeConfig.ByName "imagenet" |> ignore) |> ignore

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``bad input shapes are rejected naming the argument, the expected and the actual shape`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(tiny, Rng.Seed 0L)
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.Encode(m, Tensor.Zeros(2, 3, 28, 28)) |> ignore)
    Assert.Equal("x", ex.ParamName); Assert.Contains("[2,3,28,28]", ex.Message); Assert.Contains("C=1", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.LossTerms(m, Tensor.Zeros(1, 1, 10, 10)) |> ignore)
    Assert.Contains("multiples of 4", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.Decode(m, Tensor.Zeros(1, 5, 2, 2)) |> ignore)
    Assert.Contains("D=2", ex.Message); Assert.Contains("[1,5,2,2]", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> Quantizer.Quantize(Tensor.Zeros(4, 3), Tensor.Zeros(1, 2, 2, 2)) |> ignore)
    Assert.Equal("ze", ex.ParamName)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> VqVaeModel.CodesToLatents(m, CodeIndices.Of([| 8 |], 1, 1, 1)) |> ignore) |> ignore

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a state dict round-trips, and missing, misshapen or unknown keys are named`` (backend: string) = onBackend backend <| fun () ->
    let cfg = tiny.With(quantizer = QuantizerKind.Ema)
    let m = VqVaeModel.Init(cfg, Rng.Seed 9L)
    let sd = m.ToStateDict()
    Assert.Equal<string list>(names m, List.ofSeq sd.Keys)
    let back = VqVaeModel.FromStateDict(cfg, sd)
    for (a, b) in Seq.zip (Tree.Leaves m) (Tree.Leaves back) do
        Assert.Equal<float32[]>((nonNull a.Name a.Value).ToArray(), (nonNull b.Name b.Value).ToArray())
    let edit f = let d = Dictionary<string, Tensor>(sd) in f d; d :> IReadOnlyDictionary<_, _>
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.FromStateDict(cfg, edit (fun d -> d.Remove "decoder.2.bias" |> ignore)) |> ignore)
    Assert.Contains("'decoder.2.bias'", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.FromStateDict(cfg, edit (fun d -> d["vq.embedding.weight"] <- Tensor.Zeros(8, 3))) |> ignore)
    Assert.Contains("'vq.embedding.weight'", ex.Message); Assert.Contains("[8,2]", ex.Message); Assert.Contains("[8,3]", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.FromStateDict(cfg, edit (fun d -> d["extra"] <- Tensor.Zeros 1)) |> ignore)
    Assert.Contains("'extra'", ex.Message)
    // Without strict: extra keys ignored, missing EMA buffers start from the codebook.
    let loose = VqVaeModel.FromStateDict(cfg, edit (fun d -> d.Remove "vq.ema_w" |> ignore; d.Remove "vq.cluster_size" |> ignore; d["x"] <- Tensor.Zeros 1), strict = false)
    Assert.Equal<float32[]>(m.Codebook.Embedding.ToArray(), (loose.Ema |> Option.ofObj |> Option.get).EmaW.ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``gradients name every model leaf, miss the unreached ones, and Map keeps them missing`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(tiny, Rng.Seed 4L)
    let x = Tensor.Uniform(Rng.Seed 5L, 0.0f, 1.0f, 1, 1, 8, 8)
    let g = gradOf (fun m -> VqVaeModel.LossTerms(m, x).Commitment) m
    Assert.Equal<string list>(names m, List.ofSeq g.Names)
    let doubled = g.Map(fun t -> t * 2.0f)
    for (name, _, v) in gradLeaves m doubled do
        Assert.Equal(name.StartsWith "encoder.", v.IsSome)
        Assert.Equal(v.IsSome, g.Reaches name)
    let w = nonNull "encoder.0.weight" g["encoder.0.weight"]
    Assert.Equal<float32[]>(w.ToArray() |> Array.map (fun v -> v * 2.0f), (nonNull "doubled" doubled["encoder.0.weight"]).ToArray())
    Assert.Null(g[VqVaeModel.CodebookName])
    let e = Assert.Throws<ArgumentException>(fun () -> g["encoder.9.weight"] |> ignore)
    Assert.Contains("no leaf is called 'encoder.9.weight'", e.Message)
    Assert.Contains("encoder.0.weight", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``BatchNorm2d trains on batch statistics, returns new running statistics and evaluates with them`` (backend: string) = onBackend backend <| fun () ->
    let bn = BatchNorm2d.Init(2, momentum = 0.5f)
    let x = Tensor.Normal(Rng.Seed 1L, 3.0f, 2.0f, 2, 2, 3, 3)
    let struct (y, bn2) = bn.ApplyTraining x
    let bn2 = bn2 :?> BatchNorm2d
    // Output: zero mean and unit (biased) variance per channel.
    let yMean = y.Mean([| 0; 2; 3 |]).ToArray()
    Assert.All(yMean, fun v -> Assert.True(abs v < 1e-5f))
    // Running stats moved halfway towards the batch's mean and unbiased variance (n = 18).
    let mean = x.Mean([| 0; 2; 3 |]).ToArray()
    let var = x.Variance([| 0; 2; 3 |]).ToArray() |> Array.map (fun v -> v * 18.0f / 17.0f)
    Assert.Equal<float32[]>(mean |> Array.map (fun m -> 0.5f * m), bn2.RunningMean.ToArray())
    Array.iter2 (fun (w: float32) (a: float32) -> Assert.Equal(float w, float a, 5)) (var |> Array.map (fun v -> 0.5f + 0.5f * v)) (bn2.RunningVar.ToArray())
    Assert.Equal(1.0f, bn2.NumBatchesTracked.ToScalar())
    Assert.Equal(0.0f, bn.NumBatchesTracked.ToScalar())      // the input layer is unchanged
    // Evaluation uses the running statistics; buffers get no gradient, weight and bias do.
    let net = Sequential.Of(Conv2dLayer.Init(Rng.Seed 2L, 2, 2, 1), bn2)
    let leaves = Tree.Leaves net |> Seq.map (fun l -> l.Name) |> List.ofSeq
    Assert.Equal<string list>([ "0.weight"; "0.bias"; "1.weight"; "1.bias"; "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ], leaves)
    Assert.Equal<string list>([ "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ], List.ofSeq net.BufferNames)
    let struct (_, g) = Grad.ValueAndGrad(Func<_, _>(fun (n: Sequential) -> n.Apply(x).Sum()), net)
    let reached = g |> Seq.map (fun l -> l.Name, l.Reached) |> List.ofSeq
    Assert.Equal<(string * bool) list>(leaves |> List.map (fun n -> n, not (n.Contains "running" || n.Contains "num_batches")), reached)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``training-mode loss terms return the model with updated BatchNorm statistics`` (backend: string) = onBackend backend <| fun () ->
    let m = VqVaeModel.Init(tiny, Rng.Seed 3L)
    let enc = m.Encoder.Layers.Layers
    let withBn = m.With(encoder = Encoder(Sequential.Of([| enc[0]; BatchNorm2d.Init(4) :> ILayer; enc[1]; enc[2]; enc[3]; enc[4] |])))
    let x = Tensor.Uniform(Rng.Seed 5L, 0.0f, 1.0f, 2, 1, 8, 8)
    let t = VqVaeModel.LossTerms(withBn, x)
    let bnAfter = t.Model.Encoder.Layers.Layers[1] :?> BatchNorm2d
    Assert.Equal(1.0f, bnAfter.NumBatchesTracked.ToScalar())
    let evalTerms = VqVaeModel.LossTerms(withBn, x, training = false)
    Assert.Same(withBn, evalTerms.Model)
    let kept = VqVaeModel.WithBuffersFrom(withBn, t.Model)
    Assert.Equal(1.0f, (kept.Encoder.Layers.Layers[1] :?> BatchNorm2d).NumBatchesTracked.ToScalar())

[<Fact>]
let ``the loss terms name an encoder whose output does not fit the codebook, and buffers come only from a like model`` () =
    let m = VqVaeModel.Init(tiny, Rng.Seed 1L)
    let misfit = VqVaeModel(m.Config, m.Encoder, Codebook.Init(Rng.Seed 2L, 8, 3), m.Decoder)
    let x = Tensor.Uniform(Rng.Seed 3L, 0f, 1f, 2, 1, 8, 8)
    let e = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.LossTerms(misfit, x) |> ignore)
    Assert.Equal("encoder output", e.ParamName)
    Assert.StartsWith("encoder output must be latents [B, D=3, H, W], got [2,2,", e.Message)
    let ema = VqVaeModel.Init(tiny.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let n, nEma = (Tree.Leaves m).Count, (Tree.Leaves ema).Count
    let e = Assert.Throws<ArgumentException>(fun () -> VqVaeModel.WithBuffersFrom(m, ema) |> ignore)
    Assert.Equal("source", e.ParamName)
    Assert.StartsWith($"model: the source has {nEma} leaves, the model {n}.", e.Message)
