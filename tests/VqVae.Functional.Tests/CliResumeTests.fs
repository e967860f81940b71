/// Issue 15.3 from the command line: periodic checkpoints, --resume continuing the optimizer, the step
/// count, the usage window and the data order, and its one-line refusals.
module VqVae.Functional.Tests.CliResumeTests

open System.IO
open Xunit
open VqVae.Tensors.IO
open VqVae.Functional.Runs
open VqVae.Functional.Tests.CliTests

/// A tiny run whose dead-code restarts (every 20 steps) fall after the resume point.
let private run (extra: string list) = vqvae ([ "train"; "--hidden"; "8"; "--codebook"; "16"; "--dim"; "4"; "--batch"; "8"; "--checkpoint-every"; "7" ] @ extra)

/// The tensors of a safetensors file, as bits (metadata such as the run id aside).
let tensorBits (path: string) =
    (SafeTensors.Read path).Entries |> Seq.map (fun e -> e.Name, e.Data |> Array.map System.BitConverter.SingleToInt32Bits) |> List.ofSeq

/// metrics.csv without the throughput column (wall time differs from run to run).
let metricsRows (dir: string) =
    File.ReadAllLines(Path.Combine(dir, "metrics.csv")) |> Array.map (fun l -> l.Substring(0, l.LastIndexOf ','))

[<Fact>]
let ``train --resume continues a run exactly: the same model, optimizer state and metrics as one uninterrupted run`` () =
    let whole, part = tempDir (), tempDir ()
    let r = run [ "--steps"; "24"; "--out"; whole ]
    Assert.True((r.Code = 0), r.Err)
    let r = run [ "--steps"; "10"; "--out"; part ]
    Assert.True((r.Code = 0), r.Err)
    // In the same folder, with the same command and --resume: the run goes on to step 24.
    let r = vqvae [ "train"; "--batch"; "8"; "--checkpoint-every"; "7"; "--steps"; "24"; "--resume"; Path.Combine(part, "model.safetensors"); "--out"; part ]
    Assert.True((r.Code = 0), r.Err)
    Assert.Contains("resuming after step 10", r.Out)
    for f in [ "model.safetensors"; "optimizer.safetensors" ] do
        Assert.Equal<(string * int[]) list>(tensorBits (Path.Combine(whole, f)), tensorBits (Path.Combine(part, f)))
    Assert.Equal<string[]>(metricsRows whole, metricsRows part)
    Assert.Equal(25, (metricsRows part).Length)
    Assert.False(File.Exists(Path.Combine(part, "optimizer.previous.safetensors")))

[<Fact>]
let ``a finished run lists its optimizer state in the manifest, and both files carry the step`` () =
    let d = tempDir ()
    let r = run [ "--steps"; "9"; "--out"; d ]
    Assert.True((r.Code = 0), r.Err)
    // The last manifest says complete and lists the optimizer state with the model.
    let manifest = File.ReadAllText(Path.Combine(d, RunFolder.ManifestName))
    Assert.Contains("\"optimizer.safetensors\"", manifest)
    Assert.Equal("9", (SafeTensors.Read(Path.Combine(d, "optimizer.safetensors"))).Metadata["step"])
    Assert.Equal("9", (SafeTensors.Read(Path.Combine(d, "model.safetensors"))).Metadata["step"])

[<Fact>]
let ``--resume refuses, in one line, a finished run, pretraining, and an optimizer state of another model`` () =
    let d = tempDir ()
    Assert.Equal(0, (run [ "--steps"; "4"; "--out"; d ]).Code)
    let model = Path.Combine(d, "model.safetensors")
    let r = vqvae [ "train"; "--batch"; "8"; "--steps"; "3"; "--resume"; model; "--out"; tempDir () ]
    assertOneLineError 1 r
    Assert.Contains("--resume: the checkpoint is at step 4", r.Err)
    // At its own end, a resumed run only writes what a kill may have left missing (evaluation, pictures).
    let finish = tempDir ()
    let r = vqvae [ "train"; "--batch"; "8"; "--steps"; "4"; "--resume"; model; "--out"; finish ]
    Assert.True((r.Code = 0), r.Err)
    Assert.True(File.Exists(Path.Combine(finish, "reconstructions.png")))
    Assert.Equal<(string * int[]) list>(tensorBits model, tensorBits (Path.Combine(finish, "model.safetensors")))
    let r = vqvae [ "train"; "--batch"; "8"; "--steps"; "6"; "--pretrain"; "2"; "--resume"; model; "--out"; tempDir () ]
    assertOneLineError 1 r
    Assert.Contains("drop --pretrain", r.Err)
    // The optimizer state of a wider model beside this model, tagged as its pair: refused by shape, naming the file.
    let other = tempDir ()
    Assert.Equal(0, (vqvae [ "train"; "--hidden"; "6"; "--codebook"; "16"; "--dim"; "4"; "--batch"; "8"; "--steps"; "4"; "--out"; other ]).Code)
    let mixed = tempDir ()
    File.Copy(model, Path.Combine(mixed, "model.safetensors"))
    File.Copy(Path.Combine(other, "optimizer.safetensors"), Path.Combine(mixed, "optimizer.safetensors"))
    let r = vqvae [ "train"; "--batch"; "8"; "--steps"; "6"; "--resume"; Path.Combine(mixed, "model.safetensors"); "--out"; tempDir () ]
    assertOneLineError 1 r
    Assert.Contains("--resume", r.Err)
    Assert.Contains("optimizer.safetensors", r.Err)
    Assert.Contains("another model", r.Err)

[<Fact>]
let ``--resume accepts the run's own architecture options and refuses, in one line, one that would change it`` () =
    let d = tempDir ()
    Assert.Equal(0, (run [ "--steps"; "2"; "--out"; d ]).Code)
    let model = Path.Combine(d, "model.safetensors")
    for extra, option in [ [ "--hidden"; "6" ], "--hidden"; [ "--codebook"; "32" ], "--codebook"; [ "--dim"; "3" ], "--dim"
                           [ "--preset"; "mnistSmall" ], "--preset"; [ "--ema" ], "--ema" ] do
        let r = vqvae ([ "train"; "--batch"; "8"; "--steps"; "3"; "--resume"; model; "--out"; tempDir () ] @ extra)
        assertOneLineError 1 r
        Assert.Contains($"drop {option}", r.Err)
    let r = run [ "--steps"; "3"; "--preset"; "mnist"; "--resume"; model; "--out"; tempDir () ]
    Assert.True((r.Code = 0), r.Err)
