module VqVae.Functional.Tests.CliPriorTests

// `vqvae prior` and `vqvae sample` end to end on a tiny model (CliTests.trained), a few steps of a
// tiny prior: the files exist and decode, eval.json has the three figures, errors are one line.

open System.IO
open System.Text.Json
open Xunit
open VqVae.Data.Images
open VqVae.Functional.Prior
open VqVae.Functional.Tests.CliTests

let private fitted =
    lazy
        (let model = Path.Combine(trained.Force(), "model.safetensors")
         let dir = tempDir ()
         let r = vqvae [ "prior"; "--model"; model; "--steps"; "3"; "--batch"; "8"; "--channels"; "4"; "--layers"; "2"; "--count"; "4"; "--out"; dir ]
         Assert.True((r.Code = 0), $"prior failed: {r.Err}")
         model, dir, r)

[<Fact>]
let ``prior writes the prior, metrics, samples and eval.json with the three figures`` () =
    let model, dir, r = fitted.Force()
    for f in [ "prior.safetensors"; "metrics.csv"; "samples.png"; "eval.json" ] do
        Assert.True(FileInfo(Path.Combine(dir, f)).Length > 0L, $"{f} is missing or empty")
    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "eval.json")))
    let num (k: string) = doc.RootElement.GetProperty(k).GetDouble()
    Assert.Equal(4.0, num "uniform_bits_per_code", 6) // K = 16
    Assert.InRange(num "nll_bits_per_code", 0.0, 20.0)
    Assert.InRange(num "unigram_bits_per_code", 0.0, 4.0 + 1e-6)
    Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length - 1)
    // By default the built-in MNIST, split as train and eval split it: the prior fits the 8,000 training
    // digits' grids and is judged on the 2,000 held-out digits that the model never saw either.
    Assert.Equal(8000, doc.RootElement.GetProperty("training_grids").GetInt32())
    Assert.Equal(2000, doc.RootElement.GetProperty("held_out_grids").GetInt32())
    let loaded = PriorCheckpoint.Load(Path.Combine(dir, "prior.safetensors"))
    Assert.Equal(16, loaded.Prior.Config.CodebookSize)
    Assert.StartsWith("model.safetensors sha256:", loaded.VqVae)
    let img = ImageFile.Read(Path.Combine(dir, "samples.png"))
    Assert.True(img.Width > 0 && img.Height > 0)
    Assert.Contains("held-out NLL", r.Out)
    // The data source's own split (default --data mnist): trained on the 8,000 training digits, evaluated on the 2,000 held out.
    Assert.Contains("encoded 8000 training and 2000 held-out images", r.Out)

[<Fact>]
let ``sample decodes draws from the prior, and the same seed writes the same picture`` () =
    let model, dir, _ = fitted.Force()
    let prior = Path.Combine(dir, "prior.safetensors")
    let a, b = Path.Combine(dir, "a.png"), Path.Combine(dir, "b.png")
    for f in [ a; b ] do
        let r = vqvae [ "sample"; "--model"; model; "--prior"; prior; "--count"; "3"; "--top-k"; "4"; "--temperature"; "0.8"; "--seed"; "5"; "--out"; f ]
        Assert.True((r.Code = 0), $"sample failed: {r.Err}")
        Assert.Contains("codes/s", r.Out)
    Assert.Equal<byte[]>(File.ReadAllBytes a, File.ReadAllBytes b)

[<Fact>]
let ``prior and sample mistakes are one line naming the option`` () =
    let model, dir, _ = fitted.Force()
    let prior = Path.Combine(dir, "prior.safetensors")
    let out = Path.Combine(dir, "x.png")
    let r1 = vqvae [ "sample"; "--model"; model; "--prior"; model; "--out"; out ]
    assertOneLineError 1 r1 |> ignore
    Assert.Contains("--prior", r1.Err)
    let r2 = vqvae [ "sample"; "--model"; model; "--prior"; Path.Combine(dir, "nope.safetensors"); "--out"; out ]
    Assert.Contains("no such file", r2.Err)
    let r3 = vqvae [ "sample"; "--model"; model; "--prior"; prior; "--temperature"; "0"; "--out"; out ]
    Assert.NotEqual(0, r3.Code)
    Assert.Contains("--temperature", r3.Err)
    let r4 = vqvae [ "prior"; "--model"; prior; "--out"; dir ]
    Assert.NotEqual(0, r4.Code)
    Assert.Contains("--model", r4.Err)
