module VqVae.Functional.Tests.ExamplesTests

// The examples run as their headers say: gradient-routing.fsx through `dotnet fsi` against the
// Release build (which `dotnet test -c Release` has just made), and its checks in-process too.

open System
open System.Diagnostics
open System.IO
open Xunit
open VqVae.FSharp
open VqVae.Tensors.Tests

let private repoRoot = CliTests.repoRoot

[<Fact>]
let ``the routing sentences of gradient-routing.fsx hold in-process`` () =
    let cfg = VqVaeConfig.small
    let model = VqVae.init cfg (Rng.seed 7)
    let x = Dataset.synthetic 8 (Rng.seed 8) |> Dataset.toTensor
    let reach term = Grad.reach (VqVae.lossTerms x >> term) model
    Assert.Equal({ Encoder = true; Codebook = false; Decoder = true }, reach LossTerms.recon)
    Assert.Equal({ Encoder = false; Codebook = true; Decoder = false }, reach LossTerms.codebook)
    Assert.Equal({ Encoder = true; Codebook = false; Decoder = false }, reach LossTerms.commitment)
    Assert.Equal({ Encoder = true; Codebook = true; Decoder = true }, reach LossTerms.total)
    let m = Routing.matrix x model
    Assert.Equal<(string * Reach) list>(
        [ "recon", reach LossTerms.recon; "codebook", reach LossTerms.codebook
          "commitment", reach LossTerms.commitment; "total", reach LossTerms.total ], Routing.reaches m)

[<Fact>]
let ``gradient-routing.fsx runs with dotnet fsi after a Release build`` () =
    let root = repoRoot |> Option.defaultWith (fun () -> failwith "repository root (VqVae.Functional.sln) not found")
    let built = Path.Combine(root, "src", "VqVae.Cli", "bin", "Release", "net10.0", "VqVae.Functional.dll")
    // The script references the Release build; a Debug-only test run has none to reference.
    if File.Exists built then
        let psi = ProcessStartInfo("dotnet", "fsi examples/gradient-routing.fsx", WorkingDirectory = root,
                                   RedirectStandardOutput = true, RedirectStandardError = true)
        use p = Process.Start psi |> nonNull
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEndAsync()
        Assert.True(p.WaitForExit(180_000), "dotnet fsi did not finish in 3 minutes")
        Assert.True((p.ExitCode = 0), $"exit code {p.ExitCode}\n{out.Result}\n{err.Result}")
        Assert.Contains("all routing checks hold", out.Result)

[<Fact>]
let ``generate.fsx runs with dotnet fsi after a Release build: prior figures printed, sample picture written`` () =
    let root = repoRoot |> Option.defaultWith (fun () -> failwith "repository root (VqVae.Functional.sln) not found")
    let built = Path.Combine(root, "src", "VqVae.Cli", "bin", "Release", "net10.0", "VqVae.Functional.dll")
    if File.Exists built then
        let out = Scratch.path "vqvae-generate"
        let psi = ProcessStartInfo("dotnet", "fsi examples/generate.fsx", WorkingDirectory = root,
                                   RedirectStandardOutput = true, RedirectStandardError = true)
        // The script's small-size switch (its header): the whole pipeline, 20 steps each, in well under a minute.
        psi.Environment["VQVAE_EXAMPLE_QUICK"] <- "1"
        psi.Environment["VQVAE_EXAMPLE_OUT"] <- out
        use p = Process.Start psi |> nonNull
        let stdout = p.StandardOutput.ReadToEndAsync()
        let stderr = p.StandardError.ReadToEndAsync()
        Assert.True(p.WaitForExit(300_000), "dotnet fsi did not finish in 5 minutes")
        Assert.True((p.ExitCode = 0), $"exit code {p.ExitCode}\n{stdout.Result}\n{stderr.Result}")
        Assert.Matches(@"held-out: prior \d+\.\d+ bits/code, unigram \d+\.\d+, uniform 6\.000", stdout.Result)
        let img = VqVae.Data.Images.ImageFile.Read(Path.Combine(out, "generate-samples.png"))
        // Four 28×28 samples in one row of the atlas (1-pixel separators).
        Assert.Equal((4 * 29 + 1, 29 + 1), (img.Width, img.Height))
        Directory.Delete(out, true)
