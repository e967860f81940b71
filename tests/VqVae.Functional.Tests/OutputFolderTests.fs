module VqVae.Functional.Tests.OutputFolderTests

// Issue 16.4 (output folders: lock, stale temporaries, manifest, unwritable --out) and 15.5 (the live
// line at 80 columns, tables that do not wrap when redirected).

open System
open System.Collections.Immutable
open System.IO
open Xunit
open VqVae.Tensors.IO
open VqVae.Functional.Codebooks
open VqVae.Functional.Runs
open VqVae.Functional.Training
open VqVae.Cli
open VqVae.Cli.Output
open Spectre.Console
open VqVae.Functional.Tests.CliTests
open VqVae.Tensors.Tests

let private dir () = Scratch.dir "outdir"

[<Fact>]
let ``two runs cannot hold one folder; the lock goes with the first`` () =
    let d = dir ()
    let first = RunFolder.Open d
    let e = Assert.Throws<RunFolderException>(fun () -> RunFolder.Open d |> ignore)
    Assert.Contains("another run is writing to it", e.Message)
    let r = vqvae ([ "train"; "--steps"; "1"; "--out"; d ] @ tiny)
    assertOneLineError 1 r
    Assert.Contains("--out", r.Err)
    Assert.Contains("another run", r.Err)
    first.Dispose()
    Assert.False(File.Exists(Path.Combine(d, RunFolder.LockName)), "the lock file outlived its run")
    (RunFolder.Open d).Dispose()

[<Fact>]
let ``stale temporary files of a killed run are removed when a run takes the folder`` () =
    let d = dir ()
    let stale = Path.Combine(d, ".model.safetensors.0123456789abcdef.tmp")
    File.WriteAllText(stale, "half")
    let keep = Path.Combine(d, "notes.txt")
    File.WriteAllText(keep, "mine")
    (RunFolder.Open d).Dispose()
    Assert.False(File.Exists stale)
    Assert.True(File.Exists keep)

[<Fact>]
let ``train writes the manifest last, with every file's hash; reconstruct checks it`` () =
    let d = trained.Force()
    let manifest = File.ReadAllText(Path.Combine(d, RunFolder.ManifestName))
    Assert.Contains("\"status\": \"complete\"", manifest)
    for f in [ "model.safetensors"; "metrics.csv"; "reconstructions.png"; "batch.safetensors" ] do
        Assert.Contains($"\"{f}\"", manifest)
    Assert.Empty(Directory.GetFiles(d, ".*.tmp"))
    // A copy of the run whose model changed afterwards, and one whose run stopped half-way.
    let copy = dir ()
    for f in Directory.GetFiles d do File.Copy(f, Path.Combine(copy, nonNull (Path.GetFileName f)))
    let model = Path.Combine(copy, "model.safetensors")
    let other = Path.Combine(dir (), "m.safetensors")
    VqVae.Functional.Checkpoints.Checkpoint.Save(other, VqVae.Functional.Model.VqVaeModel.Init(VqVae.Functional.Model.VqVaeConfig.Small, VqVae.Tensors.Rng.Seed 9))
    File.Copy(other, model, true)
    let r = vqvae [ "reconstruct"; "--model"; model; "--out"; Path.Combine(dir (), "r.png") ]
    assertOneLineError 1 r
    Assert.Contains("does not match manifest.json", r.Err)
    File.WriteAllText(Path.Combine(copy, RunFolder.ManifestName), manifest.Replace("\"complete\"", "\"writing\""))
    let r = vqvae [ "train"; "--resume"; model; "--steps"; "1"; "--out"; dir () ]
    assertOneLineError 1 r
    Assert.Contains("--resume", r.Err)
    Assert.Contains("stopped half-way", r.Err)
    // Control: the untouched run's model passes the check.
    Assert.Equal(0, (vqvae [ "reconstruct"; "--model"; Path.Combine(d, "model.safetensors"); "--count"; "4"; "--out"; Path.Combine(dir (), "ok.png") ]).Code)

[<Fact>]
let ``an unwritable --out names the option and the folder, never a temporary file`` () =
    let blocker = Path.Combine(dir (), "a-file")
    File.WriteAllText(blocker, "not a folder")
    let r = vqvae ([ "train"; "--steps"; "1"; "--out"; Path.Combine(blocker, "run") ] @ tiny)
    assertOneLineError 1 r
    Assert.Contains("--out", r.Err)
    Assert.DoesNotContain(".tmp", r.Err)
    let r = vqvae [ "reconstruct"; "--model"; Path.Combine(trained.Force(), "model.safetensors"); "--count"; "2"; "--out"; Path.Combine(blocker, "r.png") ]
    assertOneLineError 1 r
    Assert.Contains("--out", r.Err)
    Assert.DoesNotContain(".tmp", r.Err)

[<Fact>]
let ``a failed atomic write names the target, not its temporary file, and leaves no temporary behind`` () =
    let d = dir ()
    let target = Path.Combine(d, "x.bin")
    let e = Assert.ThrowsAny<IOException>(fun () -> AtomicFile.Write(target, fun s -> raise (IOException "No space left on device")))
    Assert.Contains(target, e.Message)
    Assert.DoesNotContain(".tmp", e.Message)
    Assert.Empty(Directory.GetFiles d)

let private report step =
    let m = StepMetrics(step, 0.0123f, 0.0045f, 0.0011f, 0.0179f, 14.9, 30, 0.5, ImmutableArray.Create<int>(1, 2, 3))
    StepReport(m, 0.05, CodeUsage.FromCounts [ 10L; 0L; 3L; 512L ], 64)

[<Theory>]
[<InlineData(80)>]
[<InlineData(60)>]
[<InlineData(200)>]
let ``the live line fits the terminal, dropping the least important numbers first`` (width: int) =
    let avail = width - 30
    let s = TrainProgress.Compact(report 1234, 600000, avail)
    Assert.True(s.Length <= avail, $"{s.Length} > {avail}: {s}")
    Assert.StartsWith("1234/600000 loss 0.0179", s)
    if width >= 200 then Assert.Contains("img/s", s)

[<Fact>]
let ``redirected tables do not wrap at 80 columns`` () =
    let wide = String.replicate 150 "x"
    use out = new StringWriter()
    let t = Terminal.ForWriters(out, TextWriter.Null)
    let table = Table()
    table.AddColumn("op") |> ignore
    table.AddColumn("ms") |> ignore
    table.AddRow(wide, "1.00") |> ignore
    t.Console.Write(table)
    Assert.Contains(wide, out.ToString())
