/// Tests for behaviour a sampled mutation run (Stryker.NET, issue 12) found unpinned: the checkpoint
/// config's JSON keys and errors, dead-code restart's argument checks and its draw without
/// replacement, and Sequential's null check and buffer bookkeeping.
module VqVae.Functional.Tests.MutationGapTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Checkpoints
open VqVae.Functional.Codebooks
open VqVae.Functional.Layers
open VqVae.Functional.Model
open VqVae.Tensors.Tests.Refusals

// Every field differs from the fallback's, so a key the writer drops or the reader misses shows.
let private odd =
    VqVaeConfig.Paper.With(channels = 3, hidden = 96, codebookSize = 77, codeDim = 12, beta = 0.4f, preset = "custom",
                           reconstruction = ReconstructionLoss.Bce, quantizer = QuantizerKind.Ema, architecture = Architecture.Compact,
                           residualLayers = 3, residualHidden = 40, emaDecay = 0.9f, emaEpsilon = 1e-4f, inputShift = -0.25f)

[<Fact>]
let ``a config differing from the fallback in every field reads back equal, with snake_case enum names`` () =
    let json = ConfigJson.Write odd
    Assert.Equal(odd, ConfigJson.Read(json, VqVaeConfig.Mnist))
    for key in [ "channels"; "architecture"; "residual_hidden"; "ema_decay"; "ema_epsilon"; "input_shift" ] do
        Assert.Contains($"\"{key}\":", json)
    Assert.Contains("\"reconstruction\":\"mse_over_variance\"", ConfigJson.Write VqVaeConfig.Paper)
    Assert.Contains("\"architecture\":\"compact\"", json)
    Assert.Contains("\"quantizer\":\"ema\"", json)

[<Fact>]
let ``a known preset without an architecture fills the fields from that preset, an unknown one from the fallback`` () =
    let small = ConfigJson.Read("{\"preset\":\"mnistSmall\"}", VqVaeConfig.Mnist)
    Assert.Equal(Architecture.Compact, small.Architecture)
    Assert.Equal(VqVaeConfig.MnistSmall.CodebookSize, small.CodebookSize)
    let unknown = ConfigJson.Read("{\"preset\":\"nope\"}", VqVaeConfig.Mnist)
    Assert.Equal(VqVaeConfig.Mnist.Architecture, unknown.Architecture)
    Assert.Equal("nope", unknown.Preset)
    Assert.Equal(VqVaeConfig.Mnist.Hidden, ConfigJson.Read("{}", VqVaeConfig.Mnist).Hidden)
    // With an architecture the file is taken as complete: a known preset no longer fills the fields it lacks.
    let stated = ConfigJson.Read("{\"preset\":\"mnistSmall\",\"architecture\":\"reference\"}", VqVaeConfig.Mnist)
    Assert.Equal(Architecture.Reference, stated.Architecture)
    Assert.Equal(VqVaeConfig.Mnist.Hidden, stated.Hidden)
    Assert.Equal(VqVaeConfig.Mnist.CodebookSize, stated.CodebookSize)
    Assert.Equal("mnistSmall", stated.Preset)

[<Fact>]
let ``bad config JSON is refused naming the key, the expectation and what was found`` () =
    let refused (json: string) (parts: string list) =
        let e = Assert.Throws<FormatException>(fun () -> ConfigJson.Read(json, VqVaeConfig.Mnist) |> ignore)
        for p in parts do Assert.Contains(p, e.Message)
    refused "[1,2]" [ "config must be a JSON object"; "Array" ]
    refused "{" [ "config is not valid JSON" ]
    refused "{\"hidden\":\"8\"}" [ "'hidden' must be an integer"; "\"8\"" ]
    refused "{\"beta\":\"x\"}" [ "'beta' must be a number"; "\"x\"" ]
    refused "{\"preset\":3}" [ "'preset' must be a string"; "3" ]
    refused "{\"architecture\":\"cube\"}" [ "'architecture' is \"cube\""; "expected one of reference, compact, residual" ]
    Assert.Equal("json", Assert.Throws<ArgumentNullException>(fun () -> ConfigJson.Read(Unchecked.defaultof<string>, VqVaeConfig.Mnist) |> ignore).ParamName)
    Assert.Equal("fallback", Assert.Throws<ArgumentNullException>(fun () -> ConfigJson.Read("{}", Unchecked.defaultof<VqVaeConfig>) |> ignore).ParamName)
    // The JSON is checked first: with both missing, it is the one named.
    Assert.Equal("json", Assert.Throws<ArgumentNullException>(fun () -> ConfigJson.Read(Unchecked.defaultof<string>, Unchecked.defaultof<VqVaeConfig>) |> ignore).ParamName)

let private codebook = Tensor.FromArray([| for i in 0 .. 31 -> float32 i |], 16, 2)
let private rows = Tensor.FromArray([| for i in 0 .. 31 -> 100f + float32 i |], 16, 2)
let private unused = CodeUsage.Empty 16

[<Fact>]
let ``dead-code restart names the argument whose shape or value is wrong, what it must be and what it got`` () =
    let named (name: string) (parts: string list) (f: unit -> unit) = Assert.StartsWith("deadCodeRestart: ", (refusedNaming name parts f).Message)
    named "threshold" [ "threshold must be ≥ 1 row"; "0" ] (fun () -> DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, rows, unused, 0L, Rng.Seed 1L) |> ignore)
    named "codebook" [ "codebook must be [K,D], got [16]" ] (fun () -> DeadCodes.Restart(Tensor.Zeros 16, Unchecked.defaultof<EmaState>, rows, unused, Rng.Seed 1L) |> ignore)
    named "codebook" [ "codebook must be [K,D], got [16,2,1]" ] (fun () -> DeadCodes.Restart(Tensor.Zeros(16, 2, 1), Unchecked.defaultof<EmaState>, rows, unused, Rng.Seed 1L) |> ignore)
    named "usage" [ "usage counts 15 codes, the codebook has 16" ] (fun () -> DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, rows, CodeUsage.Empty 15, Rng.Seed 1L) |> ignore)
    named "rows" [ "rows must be [N,2] with N ≥ 1, got [4,3]" ] (fun () -> DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, Tensor.Zeros(4, 3), unused, Rng.Seed 1L) |> ignore)
    named "rows" [ "got [0,2]" ] (fun () -> DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, Tensor.Zeros(0, 2), unused, Rng.Seed 1L) |> ignore)
    named "rows" [ "got [2]" ] (fun () -> DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, Tensor.Zeros 2, unused, Rng.Seed 1L) |> ignore)
    let ema = EmaState(Tensor.Ones 15, Tensor.Zeros(15, 2))
    named "ema" [ "EMA statistics hold 15 codes, the codebook has 16" ] (fun () -> DeadCodes.Restart(codebook, ema, rows, unused, Rng.Seed 1L) |> ignore)

[<Fact>]
let ``dead codes take distinct rows while there are enough`` () =
    for seed in 1L .. 5L do
        let struct (e, _, restarted) = DeadCodes.Restart(codebook, Unchecked.defaultof<EmaState>, rows, unused, Rng.Seed seed)
        Assert.Equal(16, restarted.Length)
        let taken = e.ToArray() |> Array.chunkBySize 2 |> Array.map (fun r -> r[0])
        Assert.Equal<float32[]>([| for i in 0 .. 15 -> 100f + 2f * float32 i |], Array.sort taken)

[<Fact>]
let ``Sequential refuses a null layer and keeps every layer's new buffers in training mode`` () =
    let e = Assert.Throws<ArgumentNullException>(fun () -> Sequential.Of(Activation.Relu, Unchecked.defaultof<ILayer>) |> ignore)
    Assert.Contains("layers[1] is null", e.Message)
    let net = Sequential.Of(BatchNorm2d.Init 2, BatchNorm2d.Init 2)
    let struct (_, trained) = net.ApplyTraining(Tensor.Uniform(Rng.Seed 3L, 0f, 1f, 4, 2, 3, 3))
    for i in 0 .. 1 do
        let before, after = net.Layers[i] :?> BatchNorm2d, trained.Layers[i] :?> BatchNorm2d
        Assert.NotEqual<float32[]>(before.RunningMean.ToArray(), after.RunningMean.ToArray())

[<Fact>]
let ``Sequential names a null layer array and a null tree writer`` () =
    Assert.Equal("layers", Assert.Throws<ArgumentNullException>(fun () -> Sequential.Of(Unchecked.defaultof<ILayer[]>) |> ignore).ParamName)
    // An empty stack writes nothing, so only the check itself can refuse the null writer.
    for net in [ Sequential.Of(); Sequential.Of(Activation.Relu) ] do
        Assert.Equal("writer", Assert.Throws<ArgumentNullException>(fun () -> net.Flatten(Unchecked.defaultof<TreeWriter>)).ParamName)

[<Fact>]
let ``Sequential's training pass returns the same stack when no layer has buffers, a new one when one has`` () =
    let x = Tensor.Uniform(Rng.Seed 4L, 0f, 1f, 2, 2, 3, 3)
    let plain = Sequential.Of(Conv2dLayer.Init(Rng.Seed 5L, 2, 2, 1), Activation.Relu)
    let struct (y, same) = plain.ApplyTraining x
    Assert.Same(plain, same)
    Assert.Equal<float32[]>(plain.Apply(x).ToArray(), y.ToArray())
    let conv = Conv2dLayer.Init(Rng.Seed 5L, 2, 2, 1)
    let mixed = Sequential.Of(conv, BatchNorm2d.Init 2, Activation.Relu)
    let struct (_, trained) = mixed.ApplyTraining x
    Assert.NotSame(mixed, trained)
    Assert.Same(conv, trained.Layers[0])   // a layer without buffers is kept as it is
    Assert.NotSame(mixed.Layers[1], trained.Layers[1])

[<Fact>]
let ``dead-code restart with no dead code returns its inputs themselves`` () =
    let used = CodeUsage.FromCounts [ for _ in 1 .. 16 -> 1L ]
    let ema = EmaState(Tensor.Ones 16, Tensor.Zeros(16, 2))
    let struct (e, ema', restarted) = DeadCodes.Restart(codebook, ema, rows, used, Rng.Seed 1L)
    Assert.Empty(restarted)
    Assert.Same(codebook, e)
    Assert.Same(ema, ema')

let private countsOf (w: UsageWindow) = List.ofSeq w.Current.Counts
let private rowsOf (w: UsageWindow) = [ for r in w.Rows -> List.ofSeq r ]
let private longRow (xs: int64 list) = System.Collections.Generic.List<int64>(xs) :> System.Collections.Generic.IReadOnlyList<int64>

[<Fact>]
let ``the usage window sums the last size batches, drops the oldest and keeps them as rows`` () =
    let w = UsageWindow(3, 2)
    w.Add [| 1; 0; 2 |]
    w.Add [| 0; 4; 0 |]
    Assert.Equal(2, w.Steps)
    Assert.Equal<int64 list>([ 1L; 4L; 2L ], countsOf w)   // a full window drops nothing yet
    w.Add [| 5; 0; 1 |]
    Assert.Equal(2, w.Steps)
    Assert.Equal<int64 list>([ 5L; 4L; 1L ], countsOf w)   // the oldest batch is taken off the sums
    Assert.Equal<int64 list list>([ [ 0L; 4L; 0L ]; [ 5L; 0L; 1L ] ], rowsOf w)
    // Size 0 keeps everything, as one row of sums.
    let all = UsageWindow(3, 0)
    for b in [ [| 1; 0; 2 |]; [| 0; 4; 0 |]; [| 5; 0; 1 |] ] do all.Add b
    Assert.Equal(3, all.Steps)
    Assert.Equal<int64 list>([ 6L; 4L; 3L ], countsOf all)
    Assert.Equal<int64 list list>([ [ 6L; 4L; 3L ] ], rowsOf all)
    let e = Assert.Throws<ArgumentException>(fun () -> w.Add [| 1; 2 |])
    Assert.Equal("counts", e.ParamName)
    Assert.StartsWith("usage window: counts for 2 codes, expected 3.", e.Message)

[<Fact>]
let ``a usage window rebuilt from its rows is the same window, and bad saved rows are refused`` () =
    let w = UsageWindow(2, 3)
    for b in [ [| 1; 0 |]; [| 0; 2 |]; [| 3; 3 |]; [| 0; 0 |] ] do w.Add b
    let back = UsageWindow(2, 3)
    back.AddRows [ for r in w.Rows -> longRow (List.ofSeq r) ]
    Assert.Equal(w.Steps, back.Steps)
    Assert.Equal<int64 list>(countsOf w, countsOf back)
    Assert.Equal<int64 list list>(rowsOf w, rowsOf back)
    // A batch row of zeros and one of 2^31 - 1 are in range.
    let edge = UsageWindow(2, 0)
    edge.AddRows [ longRow [ 0L; 0L ]; longRow [ 7L; 0L ] ]
    Assert.Equal(2, edge.Steps)
    Assert.Equal<int64 list>([ 7L; 0L ], countsOf edge)
    let big = UsageWindow(2, 2)
    big.AddRows [ longRow [ 0L; int64 Int32.MaxValue ] ]
    Assert.Equal<int64 list>([ 0L; int64 Int32.MaxValue ], countsOf big)
    let refused (w: UsageWindow) (row: int64 list) (text: string) = refusedAs<ArgumentException> "rows" text (fun () -> w.AddRows [ longRow row ]) |> ignore
    refused (UsageWindow(2, 0)) [ 1L ] "usage window: a saved row has counts for 1 codes, expected 2."
    refused (UsageWindow(2, 3)) [ 1L; 2L; 3L ] "usage window: a saved row has counts for 3 codes, expected 2."
    refused (UsageWindow(2, 0)) [ 1L; -1L ] "usage window: saved counts must be ≥ 0."
    refused (UsageWindow(2, 3)) [ -1L; 1L ] "usage window: a saved batch's counts must be in [0, 2^31)."
    refused (UsageWindow(2, 3)) [ 1L; int64 Int32.MaxValue + 1L ] "usage window: a saved batch's counts must be in [0, 2^31)."

[<Fact>]
let ``Codebook.Init names a size or dimension below 1 and EmaState.Init a null codebook`` () =
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Codebook.Init(Rng.Seed 1L, 0, 2) |> ignore)
    Assert.Equal("size", e.ParamName)
    Assert.StartsWith("codebook: size must be ≥ 1, got 0.", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Codebook.Init(Rng.Seed 1L, 3, 0) |> ignore)
    Assert.Equal("dim", e.ParamName)
    Assert.StartsWith("codebook: dim must be ≥ 1, got 0.", e.Message)
    Assert.Equal("codebook", Assert.Throws<ArgumentNullException>(fun () -> EmaState.Init(Unchecked.defaultof<Codebook>) |> ignore).ParamName)
