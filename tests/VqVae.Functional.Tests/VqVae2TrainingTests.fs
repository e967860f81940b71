/// VQ-VAE-2 checkpoints (names, round trip, refusals), training through the library's Trainer, evaluation,
/// and `vqvae train --preset vqvae2` with eval and reconstruct end to end.
module VqVae.Functional.Tests.VqVae2TrainingTests

open System
open System.IO
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Data.Datasets
open VqVae.Functional.Checkpoints
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Functional.Hierarchical
open VqVae.Functional.Tests.CliTests
open VqVae.Tensors.Tests.Refusals

let private tiny = VqVae2Config(1, 8, 6, 10, 3, 0.25f, ResidualLayers = 1, ResidualHidden = 4)

let private values (m: VqVae2Model) = Tree.Leaves(m) |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq

let private digits count seed =
    let d = SyntheticDigits.Generate(count, Rng.Seed seed)
    Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width)

[<Theory>]
[<InlineData(false)>]
[<InlineData(true)>]
let ``a checkpoint round-trips every leaf and the config, under the PyTorch port's names`` (ema: bool) =
    let cfg = if ema then tiny.With(quantizer = QuantizerKind.Ema) else tiny
    let m = VqVae2Model.Init(cfg, Rng.Seed 3L)
    let path = Path.Combine(tempDir (), "v2.safetensors")
    VqVae2Checkpoint.Save(path, m)
    let file = SafeTensors.Read path
    Assert.Equal("vqvae2", file.Metadata["model"])
    Assert.Equal<string seq>(m.ToStateDict().Keys, file.Entries |> Seq.map (fun e -> e.Name))
    let back = VqVae2Checkpoint.Load path
    Assert.Equal(m.Config, back.Config)
    Assert.Equal<float32[]>(values m, values back)
    Assert.True(VqVae2Checkpoint.IsVqVae2 path)

[<Fact>]
let ``each loader refuses the other kind's checkpoint with a line that says what it is`` () =
    let dir = tempDir ()
    let two, one = Path.Combine(dir, "two.safetensors"), Path.Combine(dir, "one.safetensors")
    VqVae2Checkpoint.Save(two, VqVae2Model.Init(tiny, Rng.Seed 1L))
    Checkpoint.Save(one, VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 1L))
    let e1 = Assert.Throws<CheckpointException>(fun () -> Checkpoint.Load two |> ignore)
    Assert.Contains("is a VQ-VAE-2 checkpoint", e1.Message)
    let e2 = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load one |> ignore)
    Assert.Contains("not a VQ-VAE-2 checkpoint", e2.Message)
    Assert.False(VqVae2Checkpoint.IsVqVae2 one)

[<Fact>]
let ``a config describing far more values than the file holds is refused before a model is built`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 1L)
    let path = Path.Combine(tempDir (), "big.safetensors")
    let entries = m.ToStateDict() |> Seq.map (fun kv -> SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray())) |> Array.ofSeq
    let meta = dict [ "format", Checkpoint.FormatName; "model", "vqvae2"; "config", VqVae2Checkpoint.ConfigToJson(tiny.With(hidden = 60000)) ]
    SafeTensors.Write(path, entries, Collections.Generic.Dictionary(meta))
    let e = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load path |> ignore)
    Assert.Contains("does not fit the tensors", e.Message)

[<Theory>]
[<InlineData(0, false)>]
[<InlineData(2, true)>]
let ``ParameterCount is the number of values the model holds`` (res: int) (ema: bool) =
    let cfg = tiny.With(residualLayers = res, quantizer = (if ema then QuantizerKind.Ema else QuantizerKind.Straight))
    Assert.Equal(float (values (VqVae2Model.Init(cfg, Rng.Seed 0L))).Length, VqVae2Checkpoint.ParameterCount cfg)

[<Fact>]
let ``the Trainer trains a VQ-VAE-2: the reconstruction falls and both levels' usage is counted`` () =
    let x = digits 64 5L
    let batches = [ for i in 0 .. 3 -> x.Narrow(0, 16 * i, 16) ]
    let cfg = tiny.With(hidden = 16, topCodebookSize = 16, bottomCodebookSize = 16, codeDim = 4)
    let m0 = VqVae2Model.Init(cfg, Rng.Seed 7L)
    let seen = ResizeArray<VqVae2StepMetrics>()
    let run = Trainer.Run(Adam.Create 2e-3f, m0, batches, TrainOptions(Steps = 40), onStep = Action<_>(seen.Add))
    Assert.Equal(TrainOutcome.Completed, run.Outcome)
    Assert.Equal(40, run.Metrics.Length)
    Assert.Equal(40, seen.Count)
    let first = run.Metrics |> Seq.take 4 |> Seq.averageBy (fun m -> float m.Recon)
    let last = run.Metrics |> Seq.skip 36 |> Seq.averageBy (fun m -> float m.Recon)
    Assert.True(last < 0.85 * first, sprintf "recon %g → %g" first last)
    Assert.Equal(16, run.TopWindow.Codes)
    // 40 steps of 16 digits: 4×4 top and 8×8 bottom positions each, all inside the default 100-step window.
    Assert.Equal(int64 (40 * 16 * 4 * 4), run.Metrics |> Seq.sumBy (fun m -> m.TopCounts |> Seq.sumBy int64))
    Assert.Equal(int64 (40 * 16 * 4 * 4), run.TopWindow.Total)
    Assert.Equal(int64 (40 * 16 * 8 * 8), run.BottomWindow.Total)
    let report = VqVae2Evaluation.Evaluate(run.Model, batches)
    Assert.Equal(64, report.Count)
    Assert.Equal(int64 (64 * 4 * 4), report.Top.Total)
    Assert.Equal(int64 (64 * 8 * 8), report.Bottom.Total)

[<Fact>]
let ``with EMA quantizers a step moves both codebooks by their averages, not by gradient`` () =
    let cfg = tiny.With(quantizer = QuantizerKind.Ema)
    let m0 = VqVae2Model.Init(cfg, Rng.Seed 2L)
    let x = digits 8 1L
    let adam = Adam.Create 1e-3f
    let m1, _, _ = (VqVae2TrainStep.Apply(adam, m0, adam.Init m0, x)).ToTuple()
    let t = VqVae2Model.LossTerms(m0, x)
    let expected = VqVae2TrainStep.EmaStep(m0, t.TopQuantized, t.BottomQuantized)
    Assert.Equal<float32[]>(expected.Top.Codebook.Embedding.ToArray(), m1.Top.Codebook.Embedding.ToArray())
    Assert.Equal<float32[]>(expected.Bottom.Codebook.Embedding.ToArray(), m1.Bottom.Codebook.Embedding.ToArray())
    Assert.NotEqual<float32[]>(m0.Bottom.Codebook.Embedding.ToArray(), m1.Bottom.Codebook.Embedding.ToArray())

let private m2Config (path: string) = (VqVae2Checkpoint.Load path).Config

/// One short `train --preset vqvae2` run shared by the CLI tests below.
let private trained2 =
    lazy
        (let dir = tempDir ()
         let r = vqvae [ "train"; "--preset"; "vqvae2"; "--data"; "synthetic"; "--steps"; "3"; "--batch"; "8"; "--hidden"; "8"; "--codebook"; "8"; "--dim"; "4"; "--out"; dir ]
         Assert.True((r.Code = 0), $"train failed: {r.Err}")
         dir)

[<Fact>]
let ``train --preset vqvae2 writes a VQ-VAE-2 checkpoint, per-level metrics and eval, and a picture`` () =
    let dir = trained2.Force()
    for f in [ "model.safetensors"; "metrics.csv"; "eval.json"; "reconstructions.png"; "manifest.json" ] do
        Assert.True(FileInfo(Path.Combine(dir, f)).Length > 0L, $"{f} is missing or empty")
    let csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"))
    Assert.Equal(VqVae2MetricsCsv.Header, csv[0])
    Assert.Equal(4, csv.Length)
    let m = VqVae2Checkpoint.Load(Path.Combine(dir, "model.safetensors"))
    Assert.Equal(8, m.Config.TopCodebookSize)
    Assert.Equal(8, m.Config.BottomCodebookSize)
    Assert.Contains("codes_used_bottom", File.ReadAllText(Path.Combine(dir, "eval.json")))

[<Fact>]
let ``eval, reconstruct and train --resume take a VQ-VAE-2 checkpoint; routes refuses it in one line`` () =
    let dir = trained2.Force()
    let model = Path.Combine(dir, "model.safetensors")
    let e = vqvae [ "eval"; "--model"; model; "--data"; "synthetic"; "--json" ]
    Assert.True((e.Code = 0), e.Err)
    Assert.Contains("\"codes_used_top\"", e.Out)
    let png = Path.Combine(dir, "r.png")
    let r = vqvae [ "reconstruct"; "--model"; model; "--data"; "synthetic"; "--count"; "4"; "--out"; png ]
    Assert.True((r.Code = 0), r.Err)
    Assert.True(File.Exists png)
    let resumed = vqvae [ "train"; "--resume"; model; "--data"; "synthetic"; "--steps"; "2"; "--batch"; "8"; "--out"; Path.Combine(dir, "resumed") ]
    Assert.True((resumed.Code = 0), resumed.Err)
    Assert.Equal(m2Config model, (VqVae2Checkpoint.Load(Path.Combine(dir, "resumed", "model.safetensors"))).Config)
    let bad = vqvae [ "routes"; "--model"; model; "--batch"; model ]
    assertOneLineError 1 bad
    Assert.Contains("VQ-VAE-2 checkpoint", bad.Err)

[<Fact>]
let ``the F# surface delegates: a term's reach, a train step, encode and decode, save and load`` () =
    let cfg =
        VqVae.FSharp.VqVae2Config.mnist
        |> VqVae.FSharp.VqVae2Config.withHidden 8 |> VqVae.FSharp.VqVae2Config.withCodebookSize 6 |> VqVae.FSharp.VqVae2Config.withCodeDim 3
    let m = VqVae.FSharp.VqVae2.init cfg (Rng.Seed 0L)
    let x = digits 4 2L
    let r = VqVae.FSharp.VqVae2.reach (VqVae.FSharp.VqVae2.lossTerms x >> VqVae.FSharp.VqVae2.term "codebook_t") m
    Assert.Equal(LevelReach(false, false, true, false, false, false), r)
    let adam = Adam.Create 1e-3f
    let (m1, _), metrics = VqVae.FSharp.VqVae2.trainStep adam (m, adam.Init m) x
    Assert.Equal(1, metrics.Step)
    let codes = VqVae.FSharp.VqVae2.encode m1 x
    Assert.Equal<int[]>(x.Shape, (VqVae.FSharp.VqVae2.decodeCodes 28 28 m1 codes).Shape)
    let path = Path.Combine(tempDir (), "f.safetensors")
    VqVae.FSharp.VqVae2.save path m1
    match VqVae.FSharp.VqVae2.load path with
    | Ok back -> Assert.Equal<float32[]>(values m1, values back)
    | Error e -> failwith e
    Assert.True(match VqVae.FSharp.VqVae2.load (Path.Combine(tempDir (), "missing")) with Error _ -> true | Ok _ -> false)

[<Fact>]
let ``prior and sample take a VQ-VAE-2 checkpoint: a hierarchical prior, its eval per level, samples of the data's size`` () =
    let dir = trained2.Force()
    let model = Path.Combine(dir, "model.safetensors")
    let out = Path.Combine(dir, "prior")
    let p = vqvae [ "prior"; "--model"; model; "--data"; "synthetic"; "--steps"; "3"; "--batch"; "8"; "--channels"; "4"; "--layers"; "3"; "--count"; "2"; "--out"; out ]
    Assert.True((p.Code = 0), p.Err)
    // The data source's own split: the 8,192 synthetic training digits and the 2,000 held out.
    Assert.Contains("encoded 8192 training and 2000 held-out images", p.Out)
    for f in [ "prior.safetensors"; "metrics.csv"; "samples.png"; "eval.json" ] do
        Assert.True(File.Exists(Path.Combine(out, f)), f)
    let eval = File.ReadAllText(Path.Combine(out, "eval.json"))
    for key in [ "nll_bits_per_code"; "nll_bits_per_code_top"; "nll_bits_per_code_bottom"; "unigram_bits_per_code_bottom" ] do
        Assert.Contains($"\"{key}\"", eval)
    let loaded = HierarchicalPriorCheckpoint.Load(Path.Combine(out, "prior.safetensors"))
    Assert.Equal(Nullable 28, loaded.ImageWidth)
    let png = Path.Combine(dir, "s.png")
    let s = vqvae [ "sample"; "--model"; model; "--prior"; Path.Combine(out, "prior.safetensors"); "--count"; "3"; "--out"; png ]
    Assert.True((s.Code = 0), s.Err)
    Assert.Equal(2 * 28 + 2, (VqVae.Data.Images.ImageFile.Read png).Height)   // one row of 28×28 samples drawn 2×2, with 1-pixel borders

// What a sampled mutation run found unpinned in VqVae2Checkpoint: the format metadata, each refusal of Load,
// the parameter count that guards it, and the config JSON's errors.
let private writeWith (m: VqVae2Model) (meta: (string * string) list) (edit: SafeTensorEntry[] -> SafeTensorEntry[]) =
    let path = Path.Combine(tempDir (), "v2.safetensors")
    let entries = m.ToStateDict() |> Seq.map (fun kv -> SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray())) |> Array.ofSeq |> edit
    SafeTensors.Write(path, entries, Collections.Generic.Dictionary(dict meta))
    path

[<Fact>]
let ``a VQ-VAE-2 checkpoint states its format, and Load refuses a bad version, a missing config, non-finite or misshapen tensors and a bad beta`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 2L)
    let saved = Path.Combine(tempDir (), "v2.safetensors")
    VqVae2Checkpoint.Save(saved, m)
    let meta = SafeTensors.Read(saved).Metadata
    Assert.Equal(Checkpoint.FormatName, meta["format"])
    Assert.Equal(string Checkpoint.FormatVersion, meta["format_version"])
    let config = VqVae2Checkpoint.ConfigToJson tiny
    let refused (path: string) (part: string) =
        let e = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load path |> ignore)
        Assert.Contains(part, e.Message)
        Assert.DoesNotContain("(Parameter", e.Message)
    for v in [ "99"; "0"; "x" ] do
        refused (writeWith m [ "model", "vqvae2"; "format_version", v; "config", config ] id) $"format version '{v}' is not one this library reads"
    refused (writeWith m [ "model", "vqvae2" ] id) "has no config in its metadata"
    let poisoned (es: SafeTensorEntry[]) = es |> Array.mapi (fun i e -> if i = 1 then SafeTensorEntry(e.Name, e.Shape, Array.create e.Data.Length nanf) else e)
    refused (writeWith m [ "model", "vqvae2"; "config", config ] poisoned) "holds non-finite values"
    let cut (es: SafeTensorEntry[]) = es |> Array.mapi (fun i e -> if i = 0 then SafeTensorEntry(e.Name, [| e.Data.Length |], e.Data) else e)
    refused (writeWith m [ "model", "vqvae2"; "config", config ] cut) (m.ToStateDict().Keys |> Seq.head)
    Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load(saved, beta = -1f) |> ignore) |> ignore
    Assert.Equal(0.5f, VqVae2Checkpoint.Load(saved, beta = 0.5f).Config.Beta)

[<Fact>]
let ``the parameter count that guards Load is the number of values a model holds`` () =
    for cfg in [ tiny; tiny.With(quantizer = QuantizerKind.Ema); VqVae2Config(3, 12, 5, 7, 4, 0.25f, ResidualLayers = 2, ResidualHidden = 6) ] do
        let m = VqVae2Model.Init(cfg, Rng.Seed 4L)
        let held = m.ToStateDict() |> Seq.sumBy (fun kv -> float (Array.fold (*) 1 kv.Value.Shape))
        Assert.Equal(held, VqVae2Checkpoint.ParameterCount cfg)

[<Fact>]
let ``a VQ-VAE-2 config JSON that is null, malformed or not a file is named`` () =
    Assert.Contains("the JSON is null", Assert.Throws<ArgumentException>(fun () -> VqVae2Checkpoint.ConfigFromJson "null" |> ignore).Message)
    Assert.Contains("not valid JSON", Assert.Throws<ArgumentException>(fun () -> VqVae2Checkpoint.ConfigFromJson "{" |> ignore).Message)
    Assert.Equal(tiny, VqVae2Checkpoint.ConfigFromJson(VqVae2Checkpoint.ConfigToJson tiny))
    let garbage = Path.Combine(tempDir (), "garbage.safetensors")
    File.WriteAllBytes(garbage, [| 1uy; 2uy; 3uy |])
    Assert.False(VqVae2Checkpoint.IsVqVae2 garbage)
    Assert.False(VqVae2Checkpoint.IsVqVae2(Path.Combine(tempDir (), "missing.safetensors")))

[<Fact>]
let ``the size guard of Load admits a config of up to twice the values the file holds plus 2^20, counting every tensor`` () =
    // A config of more than 2^20 values whose count less 2^20 is even, so a file can hold exactly half of that.
    let cfg =
        Seq.initInfinite (fun i -> VqVae2Config(1, 192, 8 + i, 8, 5, 0.25f))
        |> Seq.find (fun c -> let n = VqVae2Checkpoint.ParameterCount c in n > float (1 <<< 20) && (int64 n - (1L <<< 20)) % 2L = 0L)
    let needed = int64 (VqVae2Checkpoint.ParameterCount cfg)
    let held = (needed - (1L <<< 20)) / 2L
    // Two junk tensors sharing the values, so the guard must add them up (the larger alone is not enough).
    let file (total: int64) =
        let a = int (total / 2L)
        let b = int total - a
        let path = Path.Combine(tempDir (), "guard.safetensors")
        let entries = [| SafeTensorEntry("junk.a", [| a |], Array.zeroCreate a); SafeTensorEntry("junk.b", [| b |], Array.zeroCreate b) |]
        SafeTensors.Write(path, entries, Collections.Generic.Dictionary(dict [ "model", "vqvae2"; "config", VqVae2Checkpoint.ConfigToJson cfg ]))
        path
    // At the bound the guard lets the file through and the state dict is what is refused.
    let atBound = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load(file held) |> ignore)
    Assert.Contains("state dict: missing keys", atBound.Message)
    Assert.DoesNotContain("does not fit", atBound.Message)
    // One value fewer and the config describes too many.
    let below = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load(file (held - 1L)) |> ignore)
    Assert.Contains($"but the file holds {held - 1L}; it does not fit the tensors", below.Message)

[<Fact>]
let ``IsVqVae2 is false for another model kind, and a null or empty path is a caller's error, not a false`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 2L)
    let other = writeWith m [ "model", "vqvae3"; "config", VqVae2Checkpoint.ConfigToJson tiny ] id
    Assert.False(VqVae2Checkpoint.IsVqVae2 other)
    Assert.Contains("not a VQ-VAE-2 checkpoint", Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load other |> ignore).Message)
    Assert.Equal("path", Assert.Throws<ArgumentNullException>(fun () -> VqVae2Checkpoint.IsVqVae2(Unchecked.defaultof<string>) |> ignore).ParamName)
    Assert.Equal("path", Assert.Throws<ArgumentException>(fun () -> VqVae2Checkpoint.IsVqVae2 "" |> ignore).ParamName)

[<Fact>]
let ``Load refuses a tensor with a single non-finite value and names it`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 2L)
    let config = VqVae2Checkpoint.ConfigToJson tiny
    let oneBad (es: SafeTensorEntry[]) =
        es |> Array.mapi (fun i e -> if i = 2 then SafeTensorEntry(e.Name, e.Shape, e.Data |> Array.mapi (fun j v -> if j = 0 then infinityf else v)) else e)
    let path = writeWith m [ "model", "vqvae2"; "config", config ] oneBad
    let name = (m.ToStateDict() |> Seq.item 2).Key
    let e = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load path |> ignore)
    Assert.Contains($"tensor '{name}' holds non-finite values", e.Message)

[<Fact>]
let ``Save checks its path before its model: with both missing it names the path`` () =
    Assert.Equal("path", Assert.Throws<ArgumentNullException>(fun () -> VqVae2Checkpoint.Save(Unchecked.defaultof<string>, Unchecked.defaultof<VqVae2Model>)).ParamName)
    Assert.Equal("path", Assert.Throws<ArgumentException>(fun () -> VqVae2Checkpoint.Save("", Unchecked.defaultof<VqVae2Model>)).ParamName)

[<Fact>]
let ``a bad beta given to Load is named as the config's problem, before anything in the file`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 2L)
    let saved = Path.Combine(tempDir (), "v2.safetensors")
    VqVae2Checkpoint.Save(saved, m)
    let poisoned (es: SafeTensorEntry[]) = es |> Array.mapi (fun i e -> if i = 1 then SafeTensorEntry(e.Name, e.Shape, Array.create e.Data.Length nanf) else e)
    let bad = writeWith m [ "model", "vqvae2"; "config", VqVae2Checkpoint.ConfigToJson tiny ] poisoned
    for path in [ saved; bad ] do
        let e = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load(path, beta = -1f) |> ignore)
        Assert.Equal("vqvae2 config: Beta must be finite and ≥ 0, got -1.", e.Problem)

[<Fact>]
let ``a state dict that does not fit the config is the file's problem, worded without the argument's name`` () =
    let m = VqVae2Model.Init(tiny, Rng.Seed 2L)
    let cut (es: SafeTensorEntry[]) = es |> Array.mapi (fun i e -> if i = 0 then SafeTensorEntry(e.Name, [| e.Data.Length |], e.Data) else e)
    let e = Assert.Throws<CheckpointException>(fun () -> VqVae2Checkpoint.Load(writeWith m [ "model", "vqvae2"; "config", VqVae2Checkpoint.ConfigToJson tiny ] cut) |> ignore)
    Assert.StartsWith("state dict: ", e.Problem)
    Assert.EndsWith(".", e.Problem)
    Assert.DoesNotContain("Parameter", e.Problem)

[<Fact>]
let ``the VQ-VAE-2 loop keeps the trainer's rules: snapshot hooks and a saved window refused, dead codes on the optimizer's step, cancellation, divergence`` () =
    let x = digits 16 5L
    let m0 = VqVae2Model.Init(tiny, Rng.Seed 7L)
    let adam = Adam.Create 1e-3f
    let run (o: TrainOptions) (state: OptimizerState<VqVae2Model> option) batches =
        Trainer.Run(adam, m0, batches, o, state = Option.toObj state)
    // The snapshot hooks hold a single-level model, and a saved window is one level's usage: refused by name.
    let refused text (o: TrainOptions) = refusedAs<ArgumentException> "options" text (fun () -> run o None [ x ]) |> ignore
    refused "trainer: OnCheckpoint and OnEvaluate take single-level snapshots" (TrainOptions(OnCheckpoint = Action<_>(ignore)))
    refused "trainer: OnCheckpoint and OnEvaluate take single-level snapshots" (TrainOptions(OnEvaluate = Action<_>(ignore)))
    refused "trainer: Window holds one level's saved usage" (TrainOptions(Window = [| [| 1L |] :> Collections.Generic.IReadOnlyList<int64> |]))
    // The options are validated as in the single-level trainer.
    refusedAs<ArgumentOutOfRangeException> "CheckpointEvery" "trainer: CheckpointEvery must be ≥ 0" (fun () -> run (TrainOptions(CheckpointEvery = -1)) None [ x ]) |> ignore
    // Every code is dead under this threshold, so a restart happens exactly when the optimizer's step is a multiple of 2:
    // not after a fresh run's first step, but after the first step of a run resumed from step 1.
    let expiry = TrainOptions(Steps = 1, DeadCodes = DeadCodePolicy(Every = 2, Threshold = 1_000_000))
    let fresh = run expiry None [ x ]
    Assert.Equal(0, fresh.RestartedCodes)
    let resumed = run expiry (Some fresh.State) [ x ]
    Assert.Equal(2, resumed.State.Step)
    Assert.True(resumed.RestartedCodes > 0, "no restart at optimizer step 2")
    // Cancelled before the first step: nothing runs, the model is the one given.
    use cancelled = new Threading.CancellationTokenSource()
    cancelled.Cancel()
    let c = run (TrainOptions(Steps = 3, Cancellation = cancelled.Token)) None [ x ]
    Assert.Equal(TrainOutcome.Cancelled, c.Outcome)
    Assert.Empty(c.Metrics)
    Assert.Same(m0, c.Model)
    // A batch with a NaN ends the run as diverged, keeping the last sane model (here the initial one).
    let bad = Tensor.FromArray(Array.init x.Length (fun i -> if i = 0 then nanf else 0.5f), x.Shape)
    let d = run (TrainOptions(Steps = 2)) None [ bad ]
    Assert.Equal(TrainOutcome.Diverged, d.Outcome)
    Assert.Same(m0, d.Model)
    Assert.Equal(0, d.State.Step)
