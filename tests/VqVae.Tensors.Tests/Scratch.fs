/// Where tests write their files: one folder per test process under the system's temporary folder. It is deleted
/// when the process exits normally; the test platform often ends its test host instead, so each run also deletes
/// the folders of processes that are gone: at most the last run's files stay. Before this, each test made its own
/// folder and nothing removed them (a developer's /tmp held ~150,000 after a few weeks).
/// Shared by the autodiff's tests and (as a linked file) the model library's.
module VqVae.Tensors.Tests.Scratch

open System
open System.Diagnostics
open System.IO

let private prefix = "vqvae-tests-"

let private alive (pid: int) =
    try
        use p = Process.GetProcessById pid
        not p.HasExited
    with :? ArgumentException -> false

let private root =
    lazy
        (let temp = Path.GetTempPath()
         // Folders of earlier runs whose process is gone (killed, or crashed before its exit handler ran).
         for d in Directory.EnumerateDirectories(temp, prefix + "*") |> Array.ofSeq do
             match Int32.TryParse((nonNull (Path.GetFileName d)).Substring(prefix.Length)) with
             | true, pid when pid <> Environment.ProcessId && not (alive pid) ->
                 try Directory.Delete(d, true) with :? IOException | :? UnauthorizedAccessException -> ()
             | _ -> ()
         let r = Path.Combine(temp, prefix + string Environment.ProcessId)
         Directory.CreateDirectory r |> ignore
         AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
             try Directory.Delete(r, true) with :? IOException | :? UnauthorizedAccessException -> ())
         r)

/// A path under this run's folder that does not exist yet: `name` with a unique suffix before its extension.
let path (name: string) : string =
    Path.Combine(root.Value, $"{Path.GetFileNameWithoutExtension name}-{Guid.NewGuid():N}{Path.GetExtension name}")

/// A new empty folder under this run's folder, its name starting with `name`.
let dir (name: string) : string =
    let d = path name
    Directory.CreateDirectory d |> ignore
    d
