module VqVae.Functional.Tests.HostileInputTests

// Issue 16, one test per reproduced case: files that cost far more than their size, sizes the tool
// accepted and then died on, non-finite numbers. Each ends in the reader's documented exception (or
// one line and exit 1/2 from the command) naming the file or option, within bounded memory.

open System
open System.IO
open System.Text
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Model
open VqVae.Functional.Checkpoints
open VqVae.Functional.Tests.CliTests
open VqVae.Tensors.Tests

let private dir () = Scratch.dir "hostile"

/// Bytes allocated by this thread while f runs (the readers are single-threaded here).
let private allocated (f: unit -> unit) =
    let before = GC.GetAllocatedBytesForCurrentThread()
    f ()
    GC.GetAllocatedBytesForCurrentThread() - before

/// A small checkpoint whose metadata config has <key> set to <value> (a number written as given).
let private checkpointWith (key: string) (value: string) =
    let path = Path.Combine(dir (), "model.safetensors")
    Checkpoint.Save(path, VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 0))
    let file = SafeTensors.Read path
    let cfg = file.Metadata["config"]
    let doc = System.Text.Json.Nodes.JsonNode.Parse(cfg) |> nonNull
    doc[key] <- System.Text.Json.Nodes.JsonNode.Parse(value)
    let meta = file.Metadata |> Seq.map (fun kv -> kv.Key, (if kv.Key = "config" then doc.ToJsonString() else kv.Value)) |> dict
    SafeTensors.Write(path, file.Entries, Collections.Generic.Dictionary(meta))
    path

[<Theory>]
[<InlineData("hidden", "100000000")>]
[<InlineData("codebook", "400000000")>]
[<InlineData("channels", "1000000")>]
[<InlineData("dim", "2000000000")>]
let ``a checkpoint whose config does not fit its tensors is refused before any model is built`` (key: string, value: string) =
    let path = checkpointWith key value
    let mutable message = ""
    let bytes = allocated (fun () -> message <- Assert.Throws<CheckpointException>(fun () -> Checkpoint.Load path |> ignore).Message)
    Assert.Contains(path, message)
    Assert.True(bytes < 20_000_000L, $"allocated {bytes} bytes before refusing")
    let r = vqvae [ "reconstruct"; "--model"; path; "--out"; Path.Combine(dir (), "r.png") ]
    assertOneLineError 1 r
    Assert.Contains(path, r.Err)

[<Fact>]
let ``the residual architecture with an absurd layer count is refused by size too`` () =
    let path = Path.Combine(dir (), "paper.safetensors")
    let cfg = VqVaeConfig.Paper.With(hidden = 8, codebookSize = 4, codeDim = 2, residualLayers = 1)
    Checkpoint.Save(path, VqVaeModel.Init(cfg, Rng.Seed 0))
    let file = SafeTensors.Read path
    let json = file.Metadata["config"].Replace("\"residual_layers\":1", "\"residual_layers\":100000000")
    SafeTensors.Write(path, file.Entries, Collections.Generic.Dictionary(dict [ "config", json; "format", "vqvae-functional" ]))
    let e = Assert.Throws<CheckpointException>(fun () -> Checkpoint.Load path |> ignore)
    Assert.Contains("describes a model of", e.Message)

[<Fact>]
let ``ModelSize counts exactly the values Init allocates, for every architecture and quantizer`` () =
    for arch in [ Architecture.Reference; Architecture.Compact; Architecture.Residual ] do
        for q in [ QuantizerKind.Straight; QuantizerKind.Ema ] do
            for h, k, d, l, r in [ 2, 3, 1, 0, 0; 6, 5, 3, 2, 0; 8, 4, 2, 1, 3 ] do
                let cfg = VqVaeConfig(2, h, k, d, 0.25f, Quantizer = q, Architecture = arch, ResidualLayers = l, ResidualHidden = r)
                let m = VqVaeModel.Init(cfg, Rng.Seed 1)
                let actual = Tree.Leaves m |> Seq.sumBy (fun leaf -> int64 leaf.Value.Length)
                Assert.Equal(actual, ModelSize.Values cfg)

[<Fact>]
let ``a checkpoint holding a NaN weight is refused on load with the file and the tensor named`` () =
    let path = Path.Combine(dir (), "nan.safetensors")
    Checkpoint.Save(path, VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 0))
    let file = SafeTensors.Read path
    let entries = file.Entries |> Seq.map (fun e -> if e.Name = "decoder.0.weight" then (let d = Array.copy e.Data in d[3] <- nanf; SafeTensorEntry(e.Name, e.Shape, d)) else e) |> Array.ofSeq
    SafeTensors.Write(path, entries, file.Metadata)
    let e = Assert.Throws<CheckpointException>(fun () -> Checkpoint.Load path |> ignore)
    Assert.Contains(path, e.Message)
    Assert.Contains("decoder.0.weight", e.Message)
    Assert.Contains("non-finite", e.Message)
    let r = vqvae [ "train"; "--resume"; path; "--steps"; "1"; "--out"; dir () ]
    assertOneLineError 1 r
    Assert.Contains("--resume", r.Err)
    Assert.DoesNotContain("--lr", r.Err)

let private header (json: string) =
    let h = Encoding.UTF8.GetBytes json
    let bytes = Array.zeroCreate<byte> (8 + h.Length + 4)
    BitConverter.GetBytes(int64 h.Length).CopyTo(bytes, 0)
    h.CopyTo(bytes, 8)
    bytes

[<Fact>]
let ``duplicate keys inside __metadata__ or inside a tensor entry are rejected, not last-wins`` () =
    let dupMeta = header """{"__metadata__":{"a":"1","a":"2"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"""
    let e = Assert.Throws<SafeTensorsFormatException>(fun () -> SafeTensors.Read(dupMeta, "dup-meta") |> ignore)
    Assert.Contains("'a' twice", e.Message)
    Assert.Contains("dup-meta", e.Message)
    let dupField = header """{"x":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,4]}}"""
    let e = Assert.Throws<SafeTensorsFormatException>(fun () -> SafeTensors.Read(dupField, "dup-field") |> ignore)
    Assert.Contains("\"shape\" twice", e.Message)
    // Control: the same files without the repetition read.
    SafeTensors.Read(header """{"__metadata__":{"a":"1"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""") |> ignore

[<Fact>]
let ``a header length beyond the file is refused from the file's size, before reading it`` () =
    let path = Path.Combine(dir (), "short.safetensors")
    let bytes = header """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"""
    BitConverter.GetBytes(1L <<< 40).CopyTo(bytes, 0)
    File.WriteAllBytes(path, bytes)
    let e = Assert.Throws<SafeTensorsFormatException>(fun () -> SafeTensors.Read path |> ignore)
    Assert.Contains(path, e.Message)
    Assert.Contains("beyond the end of the file", e.Message)

let private batchFile (b: int) (value: float32) =
    let path = Path.Combine(dir (), "batch.safetensors")
    let n = b * 28 * 28
    SafeTensors.Write(path, [| SafeTensorEntry("x", [| b; 1; 28; 28 |], Array.create n value) |])
    path

[<Fact>]
let ``gradients and routes on pixels of 3e38 end in one line and write nothing`` () =
    let trainedDir = trained.Force()
    let model = Path.Combine(trainedDir, "model.safetensors")
    let x = batchFile 2 3e38f
    let out = Path.Combine(dir (), "g.safetensors")
    let r = vqvae [ "gradients"; "--model"; model; "--batch"; x; "--out"; out ]
    assertOneLineError 1 r
    Assert.Contains("not finite", r.Err)
    Assert.Contains(x, r.Err)
    Assert.False(File.Exists out, "a gradients file was written")
    let r = vqvae [ "routes"; "--model"; model; "--batch"; x ]
    assertOneLineError 1 r
    Assert.Contains("not finite", r.Err)

[<Fact>]
let ``a batch file with B = 0 names B, and one with NaN pixels is refused`` () =
    let model = Path.Combine(trained.Force(), "model.safetensors")
    let r = vqvae [ "routes"; "--model"; model; "--batch"; batchFile 0 0.5f ]
    assertOneLineError 1 r
    Assert.Contains("B, C, H and W must all be at least 1", r.Err)
    let r = vqvae [ "routes"; "--model"; model; "--batch"; batchFile 1 nanf ]
    assertOneLineError 1 r
    Assert.Contains("non-finite", r.Err)

[<Fact>]
let ``epoch counts that overflow the step limit are refused up front`` () =
    let r = vqvae [ "train"; "--epochs"; "1000000"; "--batch"; "1"; "--out"; dir () ]
    assertOneLineError 1 r
    Assert.Contains("--epochs", r.Err)
    Assert.Contains("at most 10000000", r.Err)

[<Fact>]
let ``train and bench refuse, with the figure, a configuration that will not fit in --max-memory`` () =
    let r = vqvae [ "train"; "--hidden"; "4096"; "--max-memory"; "1"; "--steps"; "1"; "--out"; dir () ]
    assertOneLineError 1 r
    Assert.Contains("would need about", r.Err)
    Assert.Contains("--max-memory", r.Err)
    let r = vqvae [ "bench"; "--batch"; "4096"; "--max-memory"; "1" ]
    assertOneLineError 1 r
    Assert.Contains("GB", r.Err)
    let r = vqvae [ "train"; "--codebook"; "1000000"; "--max-memory"; "1"; "--steps"; "1"; "--out"; dir () ]
    assertOneLineError 1 r

[<Fact>]
let ``the memory plan grows with the batch and the model, and saturates instead of overflowing`` () =
    let p64 = VqVae.Functional.Resources.MemoryPlan.ForTraining(VqVaeConfig.Mnist, 64, 28, 28)
    let p128 = VqVae.Functional.Resources.MemoryPlan.ForTraining(VqVaeConfig.Mnist, 128, 28, 28)
    let wide = VqVae.Functional.Resources.MemoryPlan.ForTraining(VqVaeConfig.Mnist.With(hidden = 1024), 64, 28, 28)
    Assert.True(p128.Bytes > p64.Bytes && wide.Bytes > p64.Bytes)
    let absurd = VqVae.Functional.Resources.MemoryPlan.ForTraining(VqVaeConfig.Mnist.With(hidden = Int32.MaxValue, codebookSize = Int32.MaxValue), Int32.MaxValue, 28, 28)
    Assert.Equal(Int64.MaxValue, absurd.Bytes)
