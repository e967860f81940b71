module VqVae.Functional.Tests.EvaluationTests

// Held-out evaluation (issue 13 item 2) and the built-in MNIST split (item 1).

open System
open System.IO
open System.Text.Json
open Xunit
open VqVae.Data.Datasets
open VqVae.Functional.Evaluation
open VqVae.Functional.Model
open VqVae.Tensors
open VqVae.Functional.Tests.CliTests

let private model () = VqVaeModel.Init(VqVaeConfig.Mnist.With(hidden = 8, codebookSize = 16, codeDim = 4), Rng.Seed 3L)

let private tensorsOf (d: Dataset) (size: int) =
    Batches.Sequential(d, size) |> Seq.map (fun b -> Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width)) |> List.ofSeq

[<Fact>]
let ``figures are over the whole set, not averaged per batch: any batching gives the same report`` () =
    let m = model ()
    let d = BuiltInMnist.HeldOut().Take 60
    let one = Evaluator.Evaluate(m, tensorsOf d 60)
    for size in [ 1; 7; 25 ] do
        let r = Evaluator.Evaluate(m, tensorsOf d size)
        Assert.Equal(one.Count, r.Count)
        Assert.Equal(one.CodesUsed, r.CodesUsed)
        for (a, b) in [ one.Mse, r.Mse; one.MseOverVar, r.MseOverVar; one.Psnr, r.Psnr; one.Perplexity, r.Perplexity ] do
            Assert.True(abs (a - b) <= 1e-9 * abs a, $"batch {size}: {b} vs {a}")

[<Theory>]
[<InlineData("mnist")>]
[<InlineData("mnistSmall")>]   // a preset with an input shift: the evaluator must apply it once, as the model does
let ``each figure matches its definition computed independently`` (preset: string) =
    let m = VqVaeModel.Init(VqVaeConfig.ByName(preset).With(hidden = 8, codebookSize = 16, codeDim = 4), Rng.Seed 3L)
    let d = BuiltInMnist.HeldOut().Take 40
    let x = Tensor.FromArray(d.Images, d.Count, 1, 28, 28)
    let r = Evaluator.Evaluate(m, tensorsOf d 16)
    let xs = x.ToArray() |> Array.map float
    let xh = (VqVaeModel.Reconstruct(m, x)).ToArray() |> Array.map float
    let mse = Array.map2 (fun a b -> (a - b) ** 2.0) xs xh |> Array.average
    let mean = Array.average xs
    let var = xs |> Array.averageBy (fun v -> (v - mean) ** 2.0)
    let codes = (VqVaeModel.EncodeToCodes(m, x)).Values |> Seq.countBy id |> Seq.map snd |> Array.ofSeq
    let total = float (Array.sum codes)
    let perplexity = exp (-(codes |> Array.sumBy (fun c -> let p = float c / total in p * log p)))
    Assert.Equal(40, r.Count)
    Assert.Equal(mse, r.Mse, 6)
    Assert.Equal(mse / var, r.MseOverVar, 5)
    Assert.Equal(10.0 * log10 (1.0 / mse), r.Psnr, 4)
    Assert.Equal(perplexity, r.Perplexity, 6)
    Assert.Equal(codes.Length, r.CodesUsed)
    Assert.Equal(16, r.CodebookSize)

[<Fact>]
let ``no images, or images the model cannot take, are clear errors`` () =
    let m = model ()
    let e = Assert.Throws<ArgumentException>(fun () -> Evaluator.Evaluate(m, []) |> ignore)
    Assert.Contains("at least one image", e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> Evaluator.Evaluate(m, [ Tensor.Zeros(2, 3, 28, 28) ]) |> ignore)
    Assert.Contains("batches[0]", e2.Message)

[<Fact>]
let ``built-in MNIST: 8,000 train and 2,000 held-out real digits, disjoint, all ten classes`` () =
    let train, held = BuiltInMnist.Train(), BuiltInMnist.HeldOut()
    Assert.Equal((8000, 2000), (train.Count, held.Count))
    Assert.Equal((1, 28, 28), (held.Channels, held.Height, held.Width))
    Assert.Equal<int list>([ 0 .. 9 ], train.Labels |> Array.distinct |> Array.sort |> List.ofArray)
    Assert.Equal<int list>([ 0 .. 9 ], held.Labels |> Array.distinct |> Array.sort |> List.ofArray)
    // Real digits: grey levels byte/255, ink on a black background (mean about 0.13 in MNIST).
    let mean = held.Images |> Array.averageBy float
    Assert.InRange(mean, 0.10, 0.16)
    let key (d: Dataset) i = Convert.ToBase64String(d.Images.AsSpan(i * 784, 784).ToArray() |> Array.collect BitConverter.GetBytes)
    let trainKeys = set [ for i in 0 .. train.Count - 1 -> key train i ]
    let overlap = [ for i in 0 .. held.Count - 1 do if trainKeys.Contains(key held i) then yield i ]
    Assert.True(overlap.Length <= 2, $"held-out digits also in training: {overlap}")

[<Fact>]
let ``eval --json prints exactly the seven keys; train writes the same figures to eval.json`` () =
    let dir = trained.Force()
    let r = vqvae [ "eval"; "--model"; Path.Combine(dir, "model.safetensors"); "--json" ]
    Assert.True((r.Code = 0), r.Err)
    use doc = JsonDocument.Parse r.Out
    let keys = [ for p in doc.RootElement.EnumerateObject() -> p.Name ]
    Assert.Equal<string list>([ "count"; "mse"; "mse_over_var"; "psnr"; "perplexity"; "codes_used"; "codebook_size" ], keys)
    Assert.Equal(2000, doc.RootElement.GetProperty("count").GetInt32())
    use saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "eval.json")))
    Assert.Equal(doc.RootElement.GetProperty("mse").GetDouble(), saved.RootElement.GetProperty("mse").GetDouble())
    let table = vqvae [ "eval"; "--model"; Path.Combine(dir, "model.safetensors"); "--data"; "synthetic" ]
    Assert.True((table.Code = 0), table.Err)
    Assert.Contains("PSNR", table.Out)
    Assert.Contains("held-out images   2000", table.Out)

[<Fact>]
let ``a blank set has no pixel variance: MSE over variance is NaN rather than infinite`` () =
    let r = Evaluator.Evaluate(model (), [ Tensor.Zeros(2, 1, 28, 28) ])
    Assert.True(Double.IsNaN r.MseOverVar)
    Assert.Equal((2, 16), (r.Count, r.CodebookSize))
    Assert.True(r.Mse > 0.0 && Double.IsFinite r.Psnr)

[<Fact>]
let ``evaluation names the batch the model cannot take by its index, and a null model or batch list`` () =
    let m = model ()
    let good = Tensor.Zeros(1, 1, 28, 28)
    let e = Assert.Throws<ArgumentException>(fun () -> Evaluator.Evaluate(m, [ good; good; Tensor.Zeros(1, 3, 28, 28) ]) |> ignore)
    Assert.Equal("batches[2]", e.ParamName)
    Assert.Equal("model", VqVae.Tensors.Tests.Refusals.nullArgumentOf (fun () -> Evaluator.Evaluate(Unchecked.defaultof<VqVaeModel>, [ good ])))
    Assert.Equal("batches", VqVae.Tensors.Tests.Refusals.nullArgumentOf (fun () -> Evaluator.Evaluate(m, Unchecked.defaultof<Tensor seq>)))
