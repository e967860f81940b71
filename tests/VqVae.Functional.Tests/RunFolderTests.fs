/// A run's folder (DESIGN §6) through the library, without the CLI: the manifest each stage writes (status, run
/// id, step, every file's size and SHA-256), what Verify accepts and refuses (in words, naming the folder), and
/// the lock's life. The CLI's end-to-end checks are in OutputFolderTests.
module VqVae.Functional.Tests.RunFolderTests

open System
open System.IO
open System.Security.Cryptography
open System.Text.Json
open Xunit
open VqVae.Functional.Runs
open VqVae.Tensors.Tests
open VqVae.Tensors.Tests.Refusals

let private manifestOf (folder: string) = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, RunFolder.ManifestName))).RootElement
let private text (e: JsonElement) (key: string) : string = nonNull (e.GetProperty(key).GetString())
let private problem (f: unit -> unit) = (Assert.Throws<RunFolderException>(f)).Problem

[<Fact>]
let ``each stage writes the manifest: writing at open, then a checkpoint with its step, then complete with every file's size and hash`` () =
    let d = Scratch.dir "run"
    use run = RunFolder.Open d
    Assert.Equal(Path.GetFullPath d, run.Path)
    Assert.Matches(@"^\d{8}T\d{6}Z-[0-9a-f]{13}$", run.RunId)
    let m = manifestOf d
    Assert.Equal(("vqvae-run", run.RunId, "writing"), (text m "format", text m "run", text m "status"))
    Assert.False(m.TryGetProperty("step") |> fst)
    // Indented for people reading it, and stamped with the time it was written (UTC, round-trip format).
    Assert.Contains("{\n  \"format\": \"vqvae-run\",\n", File.ReadAllText(Path.Combine(d, RunFolder.ManifestName)).Replace("\r\n", "\n"))
    let written = DateTime.Parse(text m "written_utc", Globalization.CultureInfo.InvariantCulture, Globalization.DateTimeStyles.RoundtripKind)
    Assert.Equal(DateTimeKind.Utc, written.Kind)
    Assert.InRange(DateTime.UtcNow - written, TimeSpan.Zero, TimeSpan.FromMinutes 10.0)
    File.WriteAllText(run.PathOf "a.txt", "hello")
    run.Checkpoint([ "a.txt" ], 7)
    let m = manifestOf d
    Assert.Equal(("checkpoint", 7), (text m "status", m.GetProperty("step").GetInt32()))
    run.Complete([ "a.txt" ])
    let m = manifestOf d
    Assert.Equal("complete", text m "status")
    let a = m.GetProperty("files").GetProperty("a.txt")
    Assert.Equal(5L, a.GetProperty("bytes").GetInt64())
    Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("hello"B)), text a "sha256")
    Assert.Equal(Path.Combine(run.Path, "b"), run.PathOf "b")
    Assert.Equal("names", nullArgumentOf (fun () -> run.Complete(Unchecked.defaultof<string seq>)))
    Assert.Equal("names", nullArgumentOf (fun () -> run.Checkpoint(Unchecked.defaultof<string seq>, 1)))

[<Fact>]
let ``verify passes the files of a completed or checkpointed run, and refuses a changed file or an unfinished run in words`` () =
    let d = Scratch.dir "run"
    let run = RunFolder.Open d
    let a = run.PathOf "a.txt"
    File.WriteAllText(a, "hello")
    run.Checkpoint([ "a.txt" ], 3)
    RunFolder.Verify a
    run.Complete([ "a.txt" ])
    run.Dispose()
    RunFolder.Verify a
    File.WriteAllText(run.PathOf "later.txt", "copied in")
    RunFolder.Verify(run.PathOf "later.txt")                    // not in the run's set: not checked
    File.WriteAllText(a, "hullo")
    let expected = Convert.ToHexStringLower(SHA256.HashData("hello"B))
    let actual = Convert.ToHexStringLower(SHA256.HashData("hullo"B))
    Assert.Equal($"a.txt does not match manifest.json of run {run.RunId} (SHA-256 {actual[..11]}…, expected {expected[..11]}…); the file changed after the run wrote it.",
                 problem (fun () -> RunFolder.Verify a))
    let manifest = Path.Combine(d, RunFolder.ManifestName)
    let complete = File.ReadAllText manifest
    File.WriteAllText(manifest, complete.Replace("\"complete\"", "\"writing\""))
    Assert.Equal($"run {run.RunId} is writing it or stopped half-way (manifest.json says \"writing\"); its files may come from different runs. Use a folder whose run completed.",
                 problem (fun () -> RunFolder.Verify a))
    File.WriteAllText(manifest, "{\"files\": {}}")
    Assert.StartsWith("run ? is writing it or stopped half-way (manifest.json says \"?\")", problem (fun () -> RunFolder.Verify a))
    File.WriteAllText(manifest, "{\"status\": \"complete\", \"files\": []}")
    RunFolder.Verify a                                           // no file table: nothing to compare
    File.WriteAllText(manifest, "{ not json")
    let e = Assert.Throws<RunFolderException>(fun () -> RunFolder.Verify a)
    Assert.StartsWith("its manifest.json cannot be read (", e.Problem)
    Assert.Equal(d, e.Folder)
    File.Delete manifest
    RunFolder.Verify a                                           // a file outside any run folder
    refusedNaming "file" [] (fun () -> RunFolder.Verify "") |> ignore

[<Fact>]
let ``a folder that cannot be created is refused in words; the lock goes with its run`` () =
    let blocker = Path.Combine(Scratch.dir "run", "a-file")
    File.WriteAllText(blocker, "not a folder")
    Assert.StartsWith("cannot be created or written (", problem (fun () -> RunFolder.Open(Path.Combine(blocker, "run")) |> ignore))
    refusedNaming "path" [] (fun () -> RunFolder.Open "") |> ignore
    let d = Scratch.dir "run"
    let run = RunFolder.Open d
    Assert.True(File.Exists(Path.Combine(d, RunFolder.LockName)))
    Assert.StartsWith("another run is writing to it (the lock .vqvae.lock is held)", problem (fun () -> RunFolder.Open d |> ignore))
    run.Dispose()
    Assert.False(File.Exists(Path.Combine(d, RunFolder.LockName)))
    (RunFolder.Open d).Dispose()

[<Fact>]
let ``a folder whose manifest cannot be written is refused in words, and its lock is let go`` () =
    let d = Scratch.dir "run"
    let manifest = Path.Combine(d, RunFolder.ManifestName)
    Directory.CreateDirectory manifest |> ignore   // a folder where the manifest goes
    Assert.StartsWith("cannot be written (", problem (fun () -> RunFolder.Open d |> ignore))
    Assert.False(File.Exists(Path.Combine(d, RunFolder.LockName)))
    Directory.Delete manifest
    (RunFolder.Open d).Dispose()
