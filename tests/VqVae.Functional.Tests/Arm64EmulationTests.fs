/// ARM64 CPUs (Apple silicon, Graviton) run the portable 128-bit vector path (the `vector128` level, NEON
/// there), which on x64 is only ever forced. No ARM64 machine is at hand, but qemu's user-mode emulator runs
/// ARM64 programs here instruction by instruction, its floating point in software to IEEE rules (fused
/// multiply-adds included), so an ARM64 build of `vqvae` computes what an ARM64 CPU would. This test publishes
/// one (self-contained, linux-arm64), has it write a gradients file (DESIGN §6: every loss term's gradient
/// of every parameter, so every kernel of a train step runs, forward and backward) for the PyTorch reference
/// checkpoint, and compares it bit for bit with the same command at every x64 level this CPU has.
/// Without qemu and an ARM64 C library the test reports itself skipped, never passed.
module VqVae.Functional.Tests.Arm64EmulationTests

open System
open System.Diagnostics
open System.IO
open Xunit
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.IO

type private Proc = { Code: int; Out: string; Err: string }

let private run (file: string) (args: string list) (env: (string * string) list) (minutes: int) =
    let psi = ProcessStartInfo(file, args, RedirectStandardOutput = true, RedirectStandardError = true)
    psi.Environment.Remove CpuIsa.EnvironmentVariable |> ignore   // the level is only ever what `env` sets
    for k, v in env do psi.Environment[k] <- v
    use p = Process.Start psi |> nonNull
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit(TimeSpan.FromMinutes(float minutes))) then
        p.Kill true
        failwithf "%s %s did not finish in %d minutes" file (String.Join(" ", args)) minutes
    { Code = p.ExitCode; Out = out.Result; Err = err.Result }

let private onPath (name: string) =
    (Environment.GetEnvironmentVariable "PATH" |> Option.ofObj |> Option.defaultValue "").Split(':')
    |> Array.map (fun d -> Path.Combine(d, name))
    |> Array.tryFind File.Exists

/// The emulator, where it and the ARM64 libraries a .NET program loads (the C and C++ runtimes) are installed.
let private emulator () =
    let qemu = [ "qemu-aarch64-static"; "qemu-aarch64" ] |> List.tryPick onPath
    let libs = [ "/lib/ld-linux-aarch64.so.1"; "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" ]
    let missing = libs |> List.filter (File.Exists >> not)
    let how = "dpkg --add-architecture arm64 && apt-get update && apt-get install qemu-user-static libc6:arm64 libstdc++6:arm64"
    Skip.If(qemu.IsNone, $"qemu-aarch64 is not installed here, so the ARM64 (NEON) path was not run ({how})")
    Skip.IfNot(missing.IsEmpty, $"""the ARM64 libraries {String.Join(", ", missing)} are missing, so the ARM64 (NEON) path was not run ({how})""")
    qemu.Value

/// Publishes the CLI for linux-arm64 from a copy of the sources (the checkout's build outputs and lock files
/// stay as they are: a runtime-specific restore would rewrite both) and returns the executable's path.
let private publishArm64 (work: string) =
    let root = CliTests.repoRoot |> Option.defaultWith (fun () -> failwith "repository root (VqVae.Functional.sln) not found above the test assembly")
    let copy = Path.Combine(work, "src-copy")
    let rec copyDir (from: string) (into: string) =
        Directory.CreateDirectory into |> ignore
        for f in Directory.GetFiles from do
            let name = nonNull (Path.GetFileName f)
            if name <> "packages.lock.json" then File.Copy(f, Path.Combine(into, name))
        for d in Directory.GetDirectories from do
            let name = nonNull (Path.GetFileName d)
            if name <> "bin" && name <> "obj" then copyDir d (Path.Combine(into, name))
    copyDir (Path.Combine(root, "src")) (Path.Combine(copy, "src"))
    for f in [ "Directory.Build.props"; "Directory.Build.targets"; "Directory.Packages.props"; "global.json" ] do
        File.Copy(Path.Combine(root, f), Path.Combine(copy, f))
    let out = Path.Combine(work, "arm64")
    let r =
        run "dotnet" [ "publish"; Path.Combine(copy, "src", "VqVae.Cli", "VqVae.Cli.csproj"); "-c"; "Release"; "-r"; "linux-arm64"
                       "--self-contained"; "-o"; out; "-p:RestorePackagesWithLockFile=false"; "-p:RestoreLockedMode=false"
                       "-nologo"; "-v"; "q" ] [] 10
    Assert.True((r.Code = 0), $"dotnet publish -r linux-arm64 failed:\n{r.Out}\n{r.Err}")
    Path.Combine(out, "vqvae")

let private assertSameBits (what: string) (expected: SafeTensorsFile) (got: SafeTensorsFile) =
    Assert.Equal<string list>(List.ofSeq expected.Names, List.ofSeq got.Names)
    for e in expected.Entries do
        let g = got[e.Name]
        Assert.Equal<int list>(List.ofSeq e.Shape, List.ofSeq g.Shape)
        match Array.tryFindIndex id (Array.map2 (fun (a: float32) b -> BitConverter.SingleToInt32Bits a <> BitConverter.SingleToInt32Bits b) e.Data g.Data) with
        | Some i -> failwithf "%s: %s[%d] is %g (bits %08x), x64 gives %g (bits %08x)" what e.Name i g.Data[i] (BitConverter.SingleToInt32Bits g.Data[i]) e.Data[i] (BitConverter.SingleToInt32Bits e.Data[i])
        | None -> ()

[<SkippableFact>]
let ``an ARM64 build (NEON, emulated) writes the same gradient bits as every x64 level`` () =
    let qemu = emulator ()
    let work = CliTests.tempDir ()
    try
        let arm64 = publishArm64 work
        let model, batch = CliTests.pytorchCheckpoint.Force()
        let gradients (exe: string) (pre: string list) (isa: string option) =
            let g = Path.Combine(work, $"""g-{Path.GetFileName exe}-{defaultArg isa "best"}.safetensors""")
            let env = isa |> Option.map (fun l -> [ CpuIsa.EnvironmentVariable, l ]) |> Option.defaultValue []
            let r = run exe (pre @ [ "gradients"; "--model"; model; "--batch"; batch; "--out"; g ]) env 10
            Assert.True((r.Code = 0), $"{exe} gradients (VQVAE_ISA={isa}) failed: {r.Err}")
            SafeTensors.Read g
        // x64: the CLI this test build carries, once per level the CPU has (they agree bit for bit, KernelsIsa says).
        let cli = Path.Combine(AppContext.BaseDirectory, "vqvae.dll")
        let x64 = [ for l in CpuIsa.All do if CpuIsa.Supports l then CpuIsa.Name l, gradients "dotnet" [ cli ] (Some(CpuIsa.Name l)) ]
        let reference = snd x64.Head
        for name, g in x64.Tail do assertSameBits $"x64 {name}" reference g
        Assert.Equal(32, Seq.length reference.Names)
        // ARM64: the level it picks by itself must be the vector path, and asking for an x64 level is one clear line.
        let asked = run qemu [ arm64; "bench"; "--steps"; "1" ] [ CpuIsa.EnvironmentVariable, "avx2" ] 5
        Assert.Equal(1, asked.Code)
        Assert.Contains("this CPU does not support avx2; it supports vector128, scalar", asked.Err)
        assertSameBits "ARM64 vector128 (NEON)" reference (gradients qemu [ arm64 ] None)
        assertSameBits "ARM64 scalar" reference (gradients qemu [ arm64 ] (Some "scalar"))
    finally
        Directory.Delete(work, true)   // a few hundred MB of published binaries, pass or fail

