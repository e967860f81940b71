/// The checkpoint files' contract, message by message (found unpinned by mutation testing of Checkpoint,
/// OptimizerCheckpoint and TrainingCheckpoint): arguments refused by name and in order, the metadata each
/// writer puts in its file, every refusal of a reader with the text users see (the file's format and version,
/// the optimizer's kind, states missing or foreign, the usage window, non-finite values, a config that cannot
/// fit the file), the size check at its bound, and how a training checkpoint's save keeps the model's own
/// optimizer state aside until the new pair is written.
module VqVae.Functional.Tests.CheckpointContractTests

open System
open System.Collections.Generic
open System.IO
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Tensors.Tests.Refusals
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Checkpoints
open VqVae.Functional.Training
open VqVae.Tensors.Tests

let private cfg = ModelTests.tiny
let private model () = VqVaeModel.Init(cfg, Rng.Seed 3L)
let private adam = Adam.Create 2e-2f
let private batches = [ for i in 0L .. 2L -> Tensor.Uniform(Rng.Seed(20L + i), 0f, 1f, 2, 1, 8, 8) ]
let private tempDir () = Scratch.dir "ckpt-contract"
let private nil<'T> = Unchecked.defaultof<'T>
let private M, O, P = TrainingCheckpoint.ModelFileName, TrainingCheckpoint.OptimizerFileName, TrainingCheckpoint.PreviousOptimizerFileName

/// The problem of the CheckpointException `f` throws, which must name `path`.
let private problemOf (path: string) (f: unit -> 'a) =
    let e = Assert.Throws<CheckpointException>(fun () -> f () |> ignore)
    Assert.Equal(path, e.Path)
    Assert.Equal($"Checkpoint '{path}': {e.Problem}", e.Message)
    e.Problem

/// The file's metadata with keys set (Some) or removed (None).
let private withMeta (file: SafeTensorsFile) (changes: (string * string option) list) =
    let m = Dictionary<string, string>(file.Metadata :> seq<KeyValuePair<string, string>>)
    for k, v in changes do
        match v with
        | Some v -> m[k] <- v
        | None -> m.Remove k |> ignore
    m :> IReadOnlyDictionary<string, string>

let private write (path: string) (entries: SafeTensorEntry seq) (metadata: IReadOnlyDictionary<string, string>) =
    SafeTensors.Write(path, Array.ofSeq entries, metadata)
    path

let private replaced (name: string) (f: SafeTensorEntry -> SafeTensorEntry) (entries: SafeTensorEntry seq) =
    entries |> Seq.map (fun e -> if e.Name = name then f e else e) |> Array.ofSeq

let private shapeText (s: int[]) = "[" + String.Join(",", s) + "]"

/// Adam states after 1, 2 and 3 steps (with their models).
let private trained =
    lazy (
        let m = model ()
        let a = Trainer.Run(adam, m, adam.Init m, batches, TrainOptions(Steps = 1))
        let b = Trainer.Run(adam, a.Model, a.State, batches, TrainOptions(Steps = 1))
        let c = Trainer.Run(adam, b.Model, b.State, batches, TrainOptions(Steps = 1))
        a, b, c)

let private snap (r: TrainResult) = TrainSnapshot(r.State.Step, r.Model, r.State)
let private runTag run = readOnlyDict [ TrainingCheckpoint.RunKey, run ]

// ---------------------------------------------------------------- Checkpoint

[<Fact>]
let ``Checkpoint.Save refuses a null or empty path by name before it looks at the model`` () =
    Assert.Equal("path", nullArgumentOf (fun () -> Checkpoint.Save(nil<string>, nil<VqVaeModel>)))
    refusedAs<ArgumentException> "path" "The value cannot be an empty string." (fun () -> Checkpoint.Save("", nil<VqVaeModel>); obj ()) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> Checkpoint.Save(Path.Combine(tempDir (), "m.safetensors"), nil<VqVaeModel>)))

[<Fact>]
let ``Checkpoint.Encode tags the file with its format, version and config, and refuses extra metadata that would replace them`` () =
    let m = model ()
    let meta = (SafeTensors.Read(Checkpoint.Encode m)).Metadata
    Assert.Equal<string list>([ "config"; "format"; "format_version" ], meta.Keys |> Seq.sort |> List.ofSeq)
    Assert.Equal("vqvae-functional", meta["format"])
    Assert.Equal("1", meta["format_version"])
    Assert.Equal(ConfigJson.Write m.Config, meta["config"])
    Assert.Equal("7", (SafeTensors.Read(Checkpoint.Encode(m, readOnlyDict [ "step", "7" ]))).Metadata["step"])
    for key in [ "format"; "format_version"; "config" ] do
        refusedAs<ArgumentException> "extraMetadata" $"checkpoint: the metadata key '{key}' is the checkpoint's own; choose another."
            (fun () -> Checkpoint.Encode(m, readOnlyDict [ key, "x" ])) |> ignore

[<Fact>]
let ``Checkpoint.Read refuses a format version outside 1 to FormatVersion, quoting it`` () =
    let dir = tempDir ()
    let file = SafeTensors.Read(Checkpoint.Encode(model ()))
    let p = Path.Combine(dir, "v.safetensors")
    for v in [ "0"; "-1"; "2"; "one" ] do
        write p file.Entries (withMeta file [ "format_version", Some v ]) |> ignore
        Assert.Equal($"format version '{v}' is not one this library reads (1 to 1).", problemOf p (fun () -> Checkpoint.Read p))
    write p file.Entries (withMeta file [ "format_version", Some "1" ]) |> ignore
    Assert.True((Checkpoint.Read p).FromMetadata)

[<Fact>]
let ``tensors that do not fit the config are named with the config, read from the metadata or inferred from the tensors`` () =
    let dir = tempDir ()
    let m = model ()
    let file = SafeTensors.Read(Checkpoint.Encode m)
    let missing = write (Path.Combine(dir, "missing.safetensors")) (file.Entries |> Seq.filter (fun e -> e.Name <> "decoder.2.bias")) file.Metadata
    Assert.Equal($"state dict: missing key 'decoder.2.bias'. The config (read from its metadata) is {ConfigJson.Write m.Config}.",
                 problemOf missing (fun () -> Checkpoint.Read missing))
    let entries = Array.append (Array.ofSeq file.Entries) [| SafeTensorEntry("x", [| 1 |], [| 0f |]) |]
    let bare = write (Path.Combine(dir, "bare.safetensors")) entries (readOnlyDict [])
    let inferred = ArchitectureInference.Infer(readOnlyDict [ for e in entries -> e.Name, e.Shape ]).Config
    Assert.Equal($"state dict: unexpected key 'x' (pass strict: false to ignore). The config (inferred from its tensors) is {ConfigJson.Write inferred}.",
                 problemOf bare (fun () -> Checkpoint.Read bare))

[<Fact>]
let ``a config far larger than the file's tensors is refused before any model is built, with its size or its overflow`` () =
    let dir = tempDir ()
    let file = SafeTensors.Read(Checkpoint.Encode(model ()))
    let held = file.Entries |> Seq.sumBy (fun e -> int64 e.Data.Length)
    let refusal source (c: VqVaeConfig) (size: string) (held: int64) =
        $"the config ({source}: channels {c.Channels}, hidden {c.Hidden}, codebook {c.CodebookSize}, dim {c.CodeDim}, residual layers {c.ResidualLayers}) "
        + $"describes a model of {size} values, but the file holds {held}; it does not fit the tensors."
    let p = Path.Combine(dir, "big.safetensors")
    let big = cfg.With(codebookSize = 1_000_000, residualLayers = 2)
    write p file.Entries (withMeta file [ "config", Some (ConfigJson.Write big) ]) |> ignore
    Assert.Equal(refusal "read from its metadata" big (string (ModelSize.Values big)) held, problemOf p (fun () -> Checkpoint.Read p))
    let huge = cfg.With(hidden = (1 <<< 30))
    Assert.Throws<OverflowException>(fun () -> ModelSize.Values huge |> ignore) |> ignore
    write p file.Entries (withMeta file [ "config", Some (ConfigJson.Write huge) ]) |> ignore
    Assert.Equal(refusal "read from its metadata" huge "more than 2^63" held, problemOf p (fun () -> Checkpoint.Read p))
    // Inference reads the hidden width from encoder.2.weight alone: a file can claim a width its other tensors lack.
    let shapes = [ "encoder.0.weight", [| 4; 1; 4; 4 |]; "encoder.2.weight", [| 2000; 1; 1; 1 |]; "encoder.4.weight", [| 2; 4; 3; 3 |]; "vq.embedding.weight", [| 8; 2 |] ]
    let entries = [ for n, s in shapes -> SafeTensorEntry(n, s, Array.zeroCreate (Array.reduce (*) s)) ]
    let liar = write (Path.Combine(dir, "liar.safetensors")) entries (readOnlyDict [])
    let inferred = ArchitectureInference.Infer(readOnlyDict shapes).Config
    Assert.Equal(refusal "inferred from its tensors" inferred (string (ModelSize.Values inferred)) (entries |> List.sumBy (fun e -> int64 e.Data.Length)),
                 problemOf liar (fun () -> Checkpoint.Read liar))

[<Fact>]
let ``the size check lets a config of exactly twice the file's values plus 2^20 through to the tensor check, and refuses one more`` () =
    let dir = tempDir ()
    // One value per code: some codebook size of the two next to each other makes the bound a whole number of values.
    let config = [ 1_080_000; 1_080_001 ] |> List.map (fun k -> cfg.With(codebookSize = k, codeDim = 1)) |> List.find (fun c -> (ModelSize.Values c - (1L <<< 20)) % 2L = 0L)
    let needed = ModelSize.Values config
    let fits = (needed - (1L <<< 20)) / 2L
    let p = Path.Combine(dir, "filler.safetensors")
    let withFiller (n: int64) = write p [ SafeTensorEntry("filler", [| int n |], Array.zeroCreate (int n)) ] (readOnlyDict [ "config", ConfigJson.Write config ])
    withFiller fits |> ignore
    Assert.StartsWith("state dict: missing keys 'encoder.0.weight', ", problemOf p (fun () -> Checkpoint.Read p))
    withFiller (fits - 1L) |> ignore
    Assert.Equal($"the config (read from its metadata: channels 1, hidden 4, codebook {config.CodebookSize}, dim 1, residual layers 0) "
                 + $"describes a model of {needed} values, but the file holds {fits - 1L}; it does not fit the tensors.",
                 problemOf p (fun () -> Checkpoint.Read p))

[<Fact>]
let ``a lenient load counts no EMA buffers in the size check: an EMA checkpoint without them loads with fresh ones`` () =
    let dir = tempDir ()
    // A codebook of more codes than 2^20 plus the rest of the model: its EMA buffers alone would not fit the file's values.
    let config = cfg.With(codebookSize = 1_500_000, codeDim = 1, quantizer = QuantizerKind.Ema)
    let m = VqVaeModel.Init(config, Rng.Seed 1L)
    let file = SafeTensors.Read(Checkpoint.Encode m)
    let kept = file.Entries |> Seq.filter (fun e -> e.Name <> VqVaeModel.ClusterSizeName && e.Name <> VqVaeModel.EmaWName) |> Array.ofSeq
    let p = write (Path.Combine(dir, "noema.safetensors")) kept file.Metadata
    let back = Checkpoint.Read(p, strict = false)
    Assert.Equal(config, back.Model.Config)
    let codebook = kept |> Array.find (fun e -> e.Name = VqVaeModel.CodebookName)
    Assert.Equal<float32[]>(codebook.Data, (back.Model.ToStateDict()[VqVaeModel.CodebookName]).ToArray())
    let held = kept |> Array.sumBy (fun e -> int64 e.Data.Length)
    Assert.Equal($"the config (read from its metadata: channels 1, hidden 4, codebook 1500000, dim 1, residual layers 0) "
                 + $"describes a model of {ModelSize.Values config} values, but the file holds {held}; it does not fit the tensors.",
                 problemOf p (fun () -> Checkpoint.Read p))

[<Fact>]
let ``non-finite weights are refused naming the tensor, how many it holds and the first of them`` () =
    let dir = tempDir ()
    let file = SafeTensors.Read(Checkpoint.Encode(model ()))
    let p = Path.Combine(dir, "nan.safetensors")
    for bad, expected in [ [ 0, nanf; 2, infinityf; 5, -infinityf ], "3 non-finite value(s) (the first, NaN, at index 0)"
                           [ 4, -infinityf ], "1 non-finite value(s) (the first, -Infinity, at index 4)" ] do
        let poisoned (e: SafeTensorEntry) =
            let data = Array.copy e.Data
            for i, v in bad do data[i] <- v
            SafeTensorEntry(e.Name, e.Shape, data)
        write p (replaced "encoder.0.weight" poisoned file.Entries) file.Metadata |> ignore
        Assert.Equal($"tensor 'encoder.0.weight' holds {expected}; a checkpoint must hold finite weights.", problemOf p (fun () -> Checkpoint.Read p))

// ---------------------------------------------------------------- OptimizerCheckpoint

[<Fact>]
let ``OptimizerCheckpoint.Save and Load refuse a null or empty path by name before their other arguments`` () =
    Assert.Equal("path", nullArgumentOf (fun () -> OptimizerCheckpoint.Save(nil<string>, nil<IOptimizer>, nil<OptimizerState<VqVaeModel>>)))
    refusedAs<ArgumentException> "path" "The value cannot be an empty string."
        (fun () -> OptimizerCheckpoint.Save("", nil<IOptimizer>, nil<OptimizerState<VqVaeModel>>); obj ()) |> ignore
    Assert.Equal("path", nullArgumentOf (fun () -> OptimizerCheckpoint.Load(nil<string>, nil<IOptimizer>, nil<VqVaeModel>)))
    refusedAs<ArgumentException> "path" "The value cannot be an empty string." (fun () -> OptimizerCheckpoint.Load("", nil<IOptimizer>, nil<VqVaeModel>)) |> ignore

/// An optimizer the checkpoint does not know: Adam's state under another type.
let private unknownOptimizer =
    { new IOptimizer with
        member _.Init<'T when 'T :> IParameterTree<'T>>(parameters: 'T) : OptimizerState<'T> = (adam :> IOptimizer).Init parameters
        member _.Update<'T when 'T :> IParameterTree<'T>>(gradients: Gradients<'T>, state: OptimizerState<'T>, parameters: 'T) =
            (adam :> IOptimizer).Update(gradients, state, parameters) }

[<Fact>]
let ``the optimizer file's metadata names the kind of state and the optimizer's hyperparameters`` () =
    let m = model ()
    let metaOf (opt: IOptimizer) = (SafeTensors.Read(OptimizerCheckpoint.Encode(opt, opt.Init m))).Metadata
    for opt, kind, hyper in
        [ Sgd.Create 0.1f :> IOptimizer, "sgd", """{"lr": 0.1, "momentum": 0, "dampening": 0, "nesterov": false, "weight_decay": 0}"""
          Sgd.Create(0.1f, momentum = 0.9f, nesterov = true), "sgd-momentum", """{"lr": 0.1, "momentum": 0.9, "dampening": 0, "nesterov": true, "weight_decay": 0}"""
          unknownOptimizer, "adam", "{}" ] do
        let meta = metaOf opt
        Assert.Equal<string list>([ "format"; "format_version"; "hyperparameters"; "optimizer"; "step" ], meta.Keys |> Seq.sort |> List.ofSeq)
        Assert.Equal("vqvae-functional-optimizer", meta["format"])
        Assert.Equal(kind, meta["optimizer"])
        Assert.Equal(kind, OptimizerCheckpoint.KindOf(opt.Init m))
        Assert.Equal(hyper, meta["hyperparameters"])
        Assert.Equal("0", meta["step"])

[<Fact>]
let ``OptimizerCheckpoint.Encode refuses a ragged usage window and extra metadata that would replace its own`` () =
    let m = model ()
    let window = [| [| 1L; 2L |] :> IReadOnlyList<int64>; [| 1L; 2L; 3L |] |] :> IReadOnlyList<IReadOnlyList<int64>>
    refusedAs<ArgumentException> "window" "optimizer checkpoint: window row 1 has 3 counts, row 0 2."
        (fun () -> OptimizerCheckpoint.Encode(adam, adam.Init m, window)) |> ignore
    for key in [ "format"; "format_version"; "optimizer"; "hyperparameters"; "step" ] do
        refusedAs<ArgumentException> "extraMetadata" $"optimizer checkpoint: the metadata key '{key}' is the file's own; choose another."
            (fun () -> OptimizerCheckpoint.Encode(adam, adam.Init m, extraMetadata = readOnlyDict [ key, "x" ])) |> ignore

[<Fact>]
let ``an optimizer file of another format, version or optimizer is refused, quoting what it says`` () =
    let dir = tempDir ()
    let m = model ()
    let good = SafeTensors.Read(OptimizerCheckpoint.Encode(adam, adam.Init m))
    let p = Path.Combine(dir, "o.safetensors")
    let load (changes: (string * string option) list) =
        write p good.Entries (withMeta good changes) |> ignore
        problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m))
    Assert.Equal("is not an optimizer state (its metadata format is 'vqvae-functional', expected 'vqvae-functional-optimizer').",
                 load [ "format", Some "vqvae-functional" ])
    Assert.Equal("is not an optimizer state (its metadata format is 'missing', expected 'vqvae-functional-optimizer').", load [ "format", None ])
    for v in [ "0"; "2"; "+1"; "x" ] do
        Assert.Equal($"format version '{v}' is not one this library reads (1 to 1).", load [ "format_version", Some v ])
    Assert.Equal("format version '' is not one this library reads (1 to 1).", load [ "format_version", None ])
    Assert.Equal("holds the state of optimizer 'missing', but this run's optimizer is 'adam'; resume with the optimizer that saved it, or start without its state.",
                 load [ "optimizer", None ])
    let sgd = Sgd.Create 0.1f
    OptimizerCheckpoint.Save(p, sgd, sgd.Init m)
    Assert.Equal("holds the state of optimizer 'sgd', but this run's optimizer is 'sgd-momentum'; resume with the optimizer that saved it, or start without its state.",
                 problemOf p (fun () -> OptimizerCheckpoint.Load(p, Sgd.Create(0.1f, momentum = 0.9f), m)))
    write p good.Entries good.Metadata |> ignore
    Assert.Equal(0, OptimizerCheckpoint.Load(p, adam, m).Step)

[<Fact>]
let ``an optimizer file with states missing or foreign is refused naming the first and counting the rest`` () =
    let dir = tempDir ()
    let m = model ()
    let good = SafeTensors.Read(OptimizerCheckpoint.Encode(adam, adam.Init m))
    let order = Tree.Leaves(adam.Init m) |> Seq.map (fun l -> l.Name) |> List.ofSeq
    let p = Path.Combine(dir, "o.safetensors")
    let parameters = Tree.Leaves(m).Count
    for dropped in [ [ "encoder.0.bias.exp_avg" ]; [ "decoder.0.weight.step"; "encoder.2.bias.exp_avg_sq"; "vq.embedding.weight.exp_avg" ] ] do
        write p (good.Entries |> Seq.filter (fun e -> not (List.contains e.Name dropped))) good.Metadata |> ignore
        let first = order |> List.find (fun n -> List.contains n dropped)
        let more = if dropped.Length > 1 then $" and {dropped.Length - 1} more" else ""
        Assert.Equal($"lacks the state '{first}'{more}; it was saved for another model (the model's parameters are {parameters}).",
                     problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    for extras in [ [ "x" ]; [ "x"; "y"; "z" ] ] do
        write p (Seq.append good.Entries [ for n in extras -> SafeTensorEntry(n, [| 1 |], [| 0f |]) ]) good.Metadata |> ignore
        let first = (SafeTensors.Read p).Entries |> Seq.map (fun e -> e.Name) |> Seq.find (fun n -> List.contains n extras)
        let more = if extras.Length > 1 then $" and {extras.Length - 1} more" else ""
        Assert.Equal($"holds '{first}'{more}, which is no state of this model's optimizer; it was saved for another model.",
                     problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))

[<Fact>]
let ``an optimizer state of the wrong shape, not finite or with a fractional step is refused by name`` () =
    let dir = tempDir ()
    let m = model ()
    let good = SafeTensors.Read(OptimizerCheckpoint.Encode(adam, adam.Init m))
    let p = Path.Combine(dir, "o.safetensors")
    let name = "encoder.0.weight.exp_avg"
    let shape = (good.Entries |> Seq.find (fun e -> e.Name = name)).Shape
    write p (replaced name (fun e -> SafeTensorEntry(e.Name, Array.rev e.Shape, e.Data)) good.Entries) good.Metadata |> ignore
    Assert.Equal($"'{name}' has shape {shapeText (Array.rev shape)}, but the model needs {shapeText shape}; it was saved for another model.",
                 problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    write p (replaced name (fun e -> SafeTensorEntry(e.Name, e.Shape, Array.updateAt 3 nanf e.Data)) good.Entries) good.Metadata |> ignore
    Assert.Equal($"'{name}' holds a non-finite value (NaN) at index 3.", problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    write p (replaced name (fun e -> SafeTensorEntry(e.Name, e.Shape, Array.updateAt 0 -infinityf e.Data)) good.Entries) good.Metadata |> ignore
    Assert.Equal($"'{name}' holds a non-finite value (-Infinity) at index 0.", problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    write p (replaced "step" (fun e -> SafeTensorEntry(e.Name, e.Shape, [| 1.5f |])) good.Entries) good.Metadata |> ignore
    Assert.Equal("optimizer state: 'step' must be a whole number in [0, 2^24], got 1.5.", problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))

[<Fact>]
let ``a saved usage window must be one whole count of at least 0 per code and step`` () =
    let dir = tempDir ()
    let m = model ()
    let good = SafeTensors.Read(OptimizerCheckpoint.Encode(adam, adam.Init m))
    let p = Path.Combine(dir, "o.safetensors")
    let key = OptimizerCheckpoint.WindowKey
    let withWindow (shape: int[]) (data: float32[]) =
        write p (Seq.append good.Entries [ SafeTensorEntry(key, shape, data) ]) good.Metadata |> ignore
    let counts = Array.init 16 (fun i -> float32 (i % 3))
    for shape in [ [| 2; 9 |]; [| 16 |]; [| 1; 2; 8 |] ] do
        withWindow shape (Array.zeroCreate (Array.reduce (*) shape))
        Assert.Equal($"'{key}' has shape {shapeText shape}, expected [steps, 8] (one count per code of the model).",
                     problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    for bad in [ -1f; 1.5f; nanf ] do
        withWindow [| 2; 8 |] (Array.updateAt 9 bad counts)
        Assert.Equal($"'{key}' must hold whole counts ≥ 0.", problemOf p (fun () -> OptimizerCheckpoint.Load(p, adam, m)))
    withWindow [| 2; 8 |] counts
    let window = OptimizerCheckpoint.Load(p, adam, m).Window
    Assert.Equal<int64 list list>([ for r in 0 .. 1 -> [ for c in 0 .. 7 -> int64 ((r * 8 + c) % 3) ] ],
                                  [ for r in window -> List.ofSeq r ])

// ---------------------------------------------------------------- TrainingCheckpoint

[<Fact>]
let ``TrainingCheckpoint.Save refuses each missing argument by name, in order, and writes nothing`` () =
    let dir = tempDir ()
    let a, _, _ = trained.Force()
    Assert.Equal("folder", nullArgumentOf (fun () -> TrainingCheckpoint.Save(nil<string>, nil<IOptimizer>, nil<TrainSnapshot>, nil<string>)))
    refusedAs<ArgumentException> "folder" "The value cannot be an empty string."
        (fun () -> TrainingCheckpoint.Save("", nil<IOptimizer>, nil<TrainSnapshot>, nil<string>); obj ()) |> ignore
    Assert.Equal("optimizer", nullArgumentOf (fun () -> TrainingCheckpoint.Save(dir, nil<IOptimizer>, nil<TrainSnapshot>, nil<string>)))
    Assert.Equal("snapshot", nullArgumentOf (fun () -> TrainingCheckpoint.Save(dir, adam, nil<TrainSnapshot>, nil<string>)))
    Assert.Equal("runId", nullArgumentOf (fun () -> TrainingCheckpoint.Save(dir, adam, snap a, nil<string>)))
    refusedAs<ArgumentException> "runId" "The value cannot be an empty string." (fun () -> TrainingCheckpoint.Save(dir, adam, snap a, ""); obj ()) |> ignore
    Assert.Empty(Directory.EnumerateFileSystemEntries dir)

[<Fact>]
let ``TrainingCheckpoint.Save tags both files with step and run, and puts the caller's metadata in the optimizer file only`` () =
    let dir = Path.Combine(tempDir (), "not", "yet")
    let a, _, _ = trained.Force()
    TrainingCheckpoint.Save(dir, adam, snap a, "run-7", readOnlyDict [ "seed", "11"; "data", "digits" ])
    let om = (SafeTensors.Read(Path.Combine(dir, O))).Metadata
    let mm = (SafeTensors.Read(Path.Combine(dir, M))).Metadata
    Assert.Equal<(string * string) list>([ "data", "digits"; "run", "run-7"; "seed", "11"; "step", "1" ],
                                         [ for k in [ "data"; "run"; "seed"; "step" ] -> k, om[k] ])
    Assert.Equal<string list>([ "config"; "format"; "format_version"; "run"; "step" ], mm.Keys |> Seq.sort |> List.ofSeq)
    Assert.Equal<string list>([ "run-7"; "1" ], [ mm["run"]; mm["step"] ])

/// Runs `save` in `dir` and tells whether it put the optimizer file in the previous file's place (a rename or
/// a new link): the only trace of that step once a save has succeeded, as the previous file is then removed.
let private movesAside (dir: string) (save: unit -> unit) =
    use watcher = new FileSystemWatcher(dir)
    let seen = Collections.Concurrent.ConcurrentQueue<string>()
    use settled = new Threading.ManualResetEventSlim(false)
    let sentinel = $"sentinel-{Guid.NewGuid():N}"
    watcher.Renamed.Add(fun e -> if e.OldName = O && e.Name = P then seen.Enqueue "renamed")
    watcher.Created.Add(fun e -> if e.Name = P then seen.Enqueue "created" elif e.Name = sentinel then settled.Set())
    watcher.EnableRaisingEvents <- true
    save ()
    // Events arrive in order: once the sentinel's is seen, every event of the save has been.
    File.WriteAllText(Path.Combine(dir, sentinel), "")
    Assert.True(settled.Wait(TimeSpan.FromSeconds 20.0), "the folder's events did not arrive")
    File.Delete(Path.Combine(dir, sentinel))
    not seen.IsEmpty

[<Fact>]
let ``a save moves the optimizer file aside first, and over an existing previous file only when it is the model's own`` () =
    let a, b, c = trained.Force()
    let cases =
        [ // the optimizer file pairs with the model: it is moved over a stale previous file
          "paired", (fun d -> OptimizerCheckpoint.Save(Path.Combine(d, P), adam, b.State, extraMetadata = runTag "r")), true
          // a killed save left a newer optimizer file: the previous file is the model's and is kept
          "other step", (fun d -> OptimizerCheckpoint.Save(Path.Combine(d, O), adam, b.State, extraMetadata = runTag "r")
                                  OptimizerCheckpoint.Save(Path.Combine(d, P), adam, a.State, extraMetadata = runTag "r")), false
          "other run", (fun d -> OptimizerCheckpoint.Save(Path.Combine(d, O), adam, a.State, extraMetadata = runTag "q")
                                 OptimizerCheckpoint.Save(Path.Combine(d, P), adam, a.State, extraMetadata = runTag "r")), false
          // an unreadable model pairs with nothing
          "corrupt model", (fun d -> File.WriteAllBytes(Path.Combine(d, M), [| 1uy; 2uy; 3uy |])
                                     File.Copy(Path.Combine(d, O), Path.Combine(d, P))), false
          // without a previous file the optimizer file is always moved aside
          "no previous file, other run", (fun d -> OptimizerCheckpoint.Save(Path.Combine(d, O), adam, a.State, extraMetadata = runTag "q")), true ]
    for name, arrange, moved in cases do
        let d = tempDir ()
        TrainingCheckpoint.Save(d, adam, snap a, "r")
        arrange d
        Assert.True((moved = movesAside d (fun () -> TrainingCheckpoint.Save(d, adam, snap c, "r"))), $"{name}: moved aside should be {moved}")
        Assert.False(File.Exists(Path.Combine(d, P)), name)
        Assert.Equal(3, TrainingCheckpoint.Load(Path.Combine(d, M), adam).Step)

[<Fact>]
let ``when the optimizer file cannot be moved aside the save fails before writing anything`` () =
    let a, b, c = trained.Force()
    for paired in [ true; false ] do
        let d = tempDir ()
        TrainingCheckpoint.Save(d, adam, snap a, "r")
        if not paired then OptimizerCheckpoint.Save(Path.Combine(d, O), adam, b.State, extraMetadata = runTag "r")
        Directory.CreateDirectory(Path.Combine(d, P)) |> ignore
        let before = [ for n in [ M; O ] -> File.ReadAllBytes(Path.Combine(d, n)) ]
        Assert.Throws<IOException>(fun () -> TrainingCheckpoint.Save(d, adam, snap c, "r")) |> ignore
        Assert.Equal<byte[] list>(before, [ for n in [ M; O ] -> File.ReadAllBytes(Path.Combine(d, n)) ])

[<Fact>]
let ``TrainingCheckpoint.Load pairs a model only with an optimizer state of its step and run, and lists what it found`` () =
    let d = tempDir ()
    let a, b, c = trained.Force()
    let mp, op, pp = Path.Combine(d, M), Path.Combine(d, O), Path.Combine(d, P)
    // A model tagged with only a step, or only a run, is no training checkpoint: no optimizer state is looked for.
    OptimizerCheckpoint.Save(op, adam, a.State, extraMetadata = runTag "r")
    for tag in [ [ "step", "1" ]; [ "run", "r" ] ] do
        Checkpoint.Save(mp, a.Model, readOnlyDict tag)
        let point = TrainingCheckpoint.Load(mp, adam)
        Assert.Null(point.Optimizer)
        Assert.Null(point.OptimizerPath)
        Assert.Equal(0, point.Step)
    Checkpoint.Save(mp, a.Model, readOnlyDict [ "step", "1"; "run", "r" ])
    Assert.Equal(op, TrainingCheckpoint.Load(mp, adam).OptimizerPath)
    OptimizerCheckpoint.Save(op, adam, a.State)
    Assert.Equal("is from step 1 of run r, but no optimizer state beside it is (optimizer.safetensors is from step 1 of run ?); the files come from different checkpoints.",
                 problemOf mp (fun () -> TrainingCheckpoint.Load(mp, adam)))
    OptimizerCheckpoint.Save(op, adam, c.State, extraMetadata = runTag "r")
    OptimizerCheckpoint.Save(pp, adam, b.State, extraMetadata = runTag "q")
    Assert.Equal("is from step 1 of run r, but no optimizer state beside it is (optimizer.safetensors is from step 3 of run r; optimizer.previous.safetensors is from step 2 of run q); the files come from different checkpoints.",
                 problemOf mp (fun () -> TrainingCheckpoint.Load(mp, adam)))
    OptimizerCheckpoint.Save(pp, adam, a.State, extraMetadata = runTag "r")
    Assert.Equal(pp, TrainingCheckpoint.Load(mp, adam).OptimizerPath)

[<Fact>]
let ``a training checkpoint into a folder that cannot be created says so, naming the file it was writing`` () =
    let a, _, _ = trained.Force()
    let blocker = Path.Combine(tempDir (), "f")
    File.WriteAllText(blocker, "a file where the folder should be")
    let folder = Path.Combine(blocker, "run")
    let e = Assert.Throws<IOException>(fun () -> TrainingCheckpoint.Save(folder, adam, snap a, "r"))
    Assert.StartsWith($"cannot write '{Path.Combine(folder, O)}': its folder cannot be created (", e.Message)
    // A folder that does not exist yet is created.
    let fresh = Path.Combine(tempDir (), "new", "run")
    TrainingCheckpoint.Save(fresh, adam, snap a, "r")
    Assert.True(File.Exists(Path.Combine(fresh, M)))
