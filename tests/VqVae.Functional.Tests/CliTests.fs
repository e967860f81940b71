module VqVae.Functional.Tests.CliTests

// The `vqvae` command end to end, in-process through CliApp.Run with plain writers.
// Runs are tiny (h=8, K=16, D=4, a few steps) so the suite stays fast on 2 cores. They leave
// --threads alone: the kernels' thread count is process-wide and the determinism tests own it.

open System
open System.IO
open Xunit
open VqVae.Cli
open VqVae.Data.Images
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Training
open VqVae.Tensors.Tests

type Run = { Code: int; Out: string; Err: string }

let vqvae (args: string list) =
    use out = new StringWriter()
    use err = new StringWriter()
    let code = CliApp.Run(Array.ofList args, out, err)
    { Code = code; Out = out.ToString(); Err = err.ToString() }

/// The checkout's root (the folder holding VqVae.Functional.sln) above the test assembly, if there is one.
let repoRoot =
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> None
        | d when File.Exists(Path.Combine(d.FullName, "VqVae.Functional.sln")) -> Some d.FullName
        | d -> up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let tempDir () = Scratch.dir "vqvae-cli"

let tiny = [ "--hidden"; "8"; "--codebook"; "16"; "--dim"; "4"; "--batch"; "8" ]

/// One short training run shared by the tests that need a model and a batch.
let trained =
    lazy
        (let dir = tempDir ()
         let r = vqvae ([ "train"; "--steps"; "3"; "--out"; dir ] @ tiny)
         Assert.True((r.Code = 0), $"train failed: {r.Err}")
         dir)

let assertOneLineError (expectedCode: int) (r: Run) =
    Assert.Equal(expectedCode, r.Code)
    let lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Assert.True((lines.Length = 1), $"expected one line on stderr, got:\n{r.Err}")
    Assert.DoesNotContain("   at ", r.Err)
    Assert.StartsWith("vqvae", lines[0])

[<Fact>]
let ``train writes the model, metrics, pictures and charts, and the pictures decode`` () =
    let dir = trained.Force()
    for f in [ "model.safetensors"; "metrics.csv"; "reconstructions.png"; "codebook-usage.png"; "codebook-atlas.png"; "curves.png"; "codebook-pca.png"; "batch.safetensors" ] do
        Assert.True(FileInfo(Path.Combine(dir, f)).Length > 0L, $"{f} is missing or empty")
    let csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"))
    Assert.Equal(MetricsCsv.Header, csv[0])
    Assert.Equal("step,recon,codebook,commitment,total,perplexity,used_codes,window_perplexity,window_used_codes,window_dead_codes,images_per_s", csv[0])
    Assert.Equal(4, csv.Length)
    let recon = ImageFile.Read(Path.Combine(dir, "reconstructions.png"))
    Assert.True(recon.Width > 28 && recon.Height > 56)
    // The ScottPlot charts, at their documented sizes (three 900×300 panels; 900×380; 800×700).
    let size f = let i = ImageFile.Read(Path.Combine(dir, f)) in i.Width, i.Height
    Assert.Equal((900, 900), size "curves.png")
    Assert.Equal((900, 380), size "codebook-usage.png")
    Assert.Equal((800, 700), size "codebook-pca.png")
    let model = SafeTensors.Read(Path.Combine(dir, "model.safetensors"))
    Assert.Equal<int[]>([| 16; 4 |], model["vq.embedding.weight"].Shape)
    Assert.True(model.Metadata.ContainsKey "config")

[<Fact>]
let ``gradients keys are absent exactly where a term does not reach a parameter`` () =
    let dir = trained.Force()
    let g = Path.Combine(tempDir (), "g.safetensors")
    let r = vqvae [ "gradients"; "--model"; Path.Combine(dir, "model.safetensors"); "--batch"; Path.Combine(dir, "batch.safetensors"); "--out"; g ]
    Assert.True((r.Code = 0), r.Err)
    let keys = SafeTensors.Read(g).Names |> Set.ofSeq
    let under (term: string) = keys |> Set.filter (fun k -> k.StartsWith(term + "/")) |> Set.map (fun k -> k.Substring(term.Length + 1))
    let groups (names: Set<string>) = names |> Set.map (fun n -> n.Split('.')[0])
    Assert.Equal<Set<string>>(set [ "encoder"; "decoder" ], groups (under "recon"))
    Assert.Equal<Set<string>>(set [ "vq.embedding.weight" ], under "codebook")
    Assert.Equal<Set<string>>(set [ "encoder" ], groups (under "commitment"))
    Assert.Equal<Set<string>>(set [ "encoder"; "vq"; "decoder" ], groups (under "total"))
    Assert.Equal(6, (under "recon" |> Set.filter (fun n -> n.StartsWith "encoder.")).Count)
    // The loss terms as JSON on stdout.
    use doc = System.Text.Json.JsonDocument.Parse(r.Out)
    for term in [ "recon"; "codebook"; "commitment"; "total" ] do
        Assert.True(doc.RootElement.GetProperty(term).GetDouble() >= 0.0)

[<Fact>]
let ``routes prints the routing matrix as a table`` () =
    let dir = trained.Force()
    let r = vqvae [ "routes"; "--model"; Path.Combine(dir, "model.safetensors"); "--batch"; Path.Combine(dir, "batch.safetensors") ]
    Assert.True((r.Code = 0), r.Err)
    let row (term: string) = r.Out.Split('\n') |> Array.find (fun l -> l.TrimStart('│', '|', ' ').StartsWith(term + " "))
    Assert.Contains("encoder", r.Out)
    Assert.Contains("decoder", r.Out)
    // codebook term: only the codebook column has a norm; commitment: only the encoder.
    Assert.Equal(2, (row "codebook").Split('—').Length - 1)
    Assert.Equal(2, (row "commitment").Split('—').Length - 1)
    Assert.Equal(1, (row "recon").Split('—').Length - 1)
    Assert.Equal(0, (row "total").Split('—').Length - 1)

[<Fact>]
let ``a missing model file is one line and exit code 1`` () =
    let dir = trained.Force()
    vqvae [ "routes"; "--model"; Path.Combine(dir, "nope.safetensors"); "--batch"; Path.Combine(dir, "batch.safetensors") ]
    |> assertOneLineError 1

[<Fact>]
let ``a corrupt checkpoint is one line and exit code 1`` () =
    let dir = trained.Force()
    vqvae [ "routes"; "--model"; Path.Combine(dir, "metrics.csv"); "--batch"; Path.Combine(dir, "batch.safetensors") ]
    |> assertOneLineError 1

[<Fact>]
let ``a batch of the wrong shape is one line and exit code 1`` () =
    let dir = trained.Force()
    let bad = Path.Combine(tempDir (), "bad.safetensors")
    SafeTensors.Write(bad, [| SafeTensorEntry("x", [| 2; 3; 28; 28 |], Array.zeroCreate (2 * 3 * 28 * 28)) |])
    let r = vqvae [ "gradients"; "--model"; Path.Combine(dir, "model.safetensors"); "--batch"; bad; "--out"; Path.Combine(tempDir (), "g.safetensors") ]
    assertOneLineError 1 r
    Assert.Contains("channel", r.Err)
    let rank3 = Path.Combine(tempDir (), "rank3.safetensors")
    SafeTensors.Write(rank3, [| SafeTensorEntry("x", [| 2; 28; 28 |], Array.zeroCreate (2 * 28 * 28)) |])
    vqvae [ "routes"; "--model"; Path.Combine(dir, "model.safetensors"); "--batch"; rank3 ] |> assertOneLineError 1

[<Fact>]
let ``negative steps are a usage error`` () =
    vqvae [ "train"; "--steps"; "-1"; "--out"; tempDir () ] |> assertOneLineError 2

[<Fact>]
let ``an unknown preset is one line and exit code 2 (a command-line mistake)`` () =
    let r = vqvae [ "train"; "--preset"; "huge"; "--steps"; "1"; "--out"; tempDir () ]
    assertOneLineError 2 r
    Assert.Contains("huge", r.Err)

[<Fact>]
let ``unknown options and bad data specs are one line`` () =
    vqvae [ "train"; "--bogus" ] |> assertOneLineError 2
    vqvae [ "train"; "--data"; "mnist:/no/such/dir"; "--steps"; "1"; "--out"; tempDir () ] |> assertOneLineError 1
    vqvae [ "train"; "--data"; "cifar"; "--steps"; "1"; "--out"; tempDir () ] |> assertOneLineError 1
    vqvae [] |> assertOneLineError 2

[<Fact>]
let ``reconstruct writes a picture from a checkpoint`` () =
    let dir = trained.Force()
    let png = Path.Combine(tempDir (), "rec.png")
    let r = vqvae [ "reconstruct"; "--model"; Path.Combine(dir, "model.safetensors"); "--count"; "8"; "--out"; png ]
    Assert.True((r.Code = 0), r.Err)
    ImageFile.Read png |> ignore

[<Fact>]
let ``train resumes from a checkpoint`` () =
    let dir = trained.Force()
    let out = tempDir ()
    let r = vqvae [ "train"; "--resume"; Path.Combine(dir, "model.safetensors"); "--steps"; "5"; "--batch"; "8"; "--out"; out ]
    Assert.True((r.Code = 0), r.Err)
    Assert.True(File.Exists(Path.Combine(out, "model.safetensors")))

[<Fact>]
let ``bench --json prints only JSON with the documented keys`` () =
    let r = vqvae [ "bench"; "--batch"; "2"; "--steps"; "1"; "--warmup"; "0"; "--json" ]
    Assert.True((r.Code = 0), r.Err)
    use doc = System.Text.Json.JsonDocument.Parse(r.Out)
    for key in [ "train_step_ms"; "inference_ms"; "quantize_ms" ] do
        let t = doc.RootElement.GetProperty key
        for stat in [ "median"; "min"; "max" ] do
            Assert.True(t.GetProperty(stat).GetDouble() > 0.0, $"{key}.{stat}")
    Assert.True(doc.RootElement.GetProperty("images_per_s").GetProperty("train_step").GetDouble() > 0.0)
    Assert.True(doc.RootElement.GetProperty("gflops").GetProperty("train_step").GetDouble() > 0.0)

/// The PyTorch-made reference checkpoint's state dict and batch, as `vqvae` reads them.
let pytorchCheckpoint =
    lazy
        (let f = SafeTensors.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "vqvae_reference.safetensors"))
         let dir = tempDir ()
         let model = Path.Combine(dir, "model.safetensors")
         let batch = Path.Combine(dir, "batch.safetensors")
         let isParam (n: string) = n.StartsWith "encoder." || n.StartsWith "decoder." || n.StartsWith "vq."
         SafeTensors.Write(model, [ for e in f.Entries do if isParam e.Name then yield e ], f.Metadata)
         SafeTensors.Write(batch, [ f["x"] ])
         model, batch)

[<Fact>]
let ``gradients on --device torch and --device cpu agree on a PyTorch checkpoint (keys and values)`` () =
    let model, batch = pytorchCheckpoint.Force()
    let run device =
        let g = Path.Combine(tempDir (), "g.safetensors")
        let r = vqvae [ "gradients"; "--model"; model; "--batch"; batch; "--out"; g; "--device"; device ]
        Assert.True((r.Code = 0), $"gradients --device {device} failed: {r.Err}")
        SafeTensors.Read g
    let cpu, torch = run "cpu", run "torch"
    Assert.Equal<string list>(List.ofSeq cpu.Names, List.ofSeq torch.Names)
    Assert.Equal(32, Seq.length cpu.Names)
    for e in cpu.Entries do
        let t = torch[e.Name]
        let scale = e.Data |> Array.map abs |> Array.max |> float
        let diff = Array.map2 (fun (a: float32) b -> abs (float a - float b)) e.Data t.Data |> Array.max
        Assert.True(diff <= 1e-4 * scale, $"{e.Name}: max |cpu − torch| = {diff}, max |g| = {scale}")

[<Fact>]
let ``--device cuda without a GPU is one line and exit code 1`` () =
    let model, batch = pytorchCheckpoint.Force()
    let r = vqvae [ "routes"; "--model"; model; "--batch"; batch; "--device"; "cuda" ]
    assertOneLineError 1 r
    Assert.Contains("cuda", r.Err)
    Assert.Contains("TorchSharp-cuda", r.Err)

[<Fact>]
let ``an unknown --device is a usage error`` () =
    let r = vqvae [ "bench"; "--device"; "tpu" ]
    assertOneLineError 2 r
