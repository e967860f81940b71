module VqVae.Functional.Tests.FSharpApiTests

// The F# surface reads as DESIGN §5 says it should: these tests are that example, run.

open Xunit
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.FSharp
open VqVae.Tensors.Tests

let private tinyBatch seed =
    // Soft blobs in [0,1] so the reconstruction has something to learn.
    Tensor.uniform (Rng.seed seed) 0.0f 1.0f [ 8; 1; 8; 8 ]

[<Fact>]
let ``the DESIGN §5 training step lowers the loss on a tiny config`` () =
    let cfg = VqVaeConfig.small
    let model0 = VqVae.init cfg (Rng.seed 42)
    let adam = Adam.create 1e-2f
    let step (model, opt) batch =
        let terms, grads = Grad.valueAndGrad (VqVae.lossTerms batch >> LossTerms.total) model
        let model', opt' = Adam.update adam grads opt model
        (model', opt'), terms
    let x = tinyBatch 1
    let _, losses =
        List.replicate 12 x
        |> List.mapFold (fun state batch -> let s, t = step state batch in Tensor.toScalar t, s) (model0, Adam.init adam model0)
        |> fun (ls, st) -> st, ls
    Assert.True(List.last losses < List.head losses, $"loss did not fall: %A{losses}")

[<Fact>]
let ``the routing sentence of DESIGN §5 holds`` () =
    let cfg = VqVaeConfig.small
    let model = VqVae.init cfg (Rng.seed 7)
    let x = tinyBatch 2
    Assert.True(Grad.reach (fun m -> (VqVae.lossTerms x m).Codebook) model = { Encoder = false; Codebook = true; Decoder = false })
    Assert.True(Grad.reach (fun m -> (VqVae.lossTerms x m).Commitment) model = { Encoder = true; Codebook = false; Decoder = false })
    Assert.True(Grad.reach (VqVae.lossTerms x >> LossTerms.recon) model = { Encoder = true; Codebook = false; Decoder = true })

[<Fact>]
let ``missing gradients are None, by name`` () =
    let cfg = VqVaeConfig.small
    let model = VqVae.init cfg (Rng.seed 3)
    let x = tinyBatch 3
    let _, grads = Grad.valueAndGrad (VqVae.lossTerms x >> LossTerms.recon) model
    Assert.True((Grad.tryGrad "vq.embedding.weight" grads).IsNone)
    Assert.True((Grad.tryGrad "encoder.0.weight" grads).IsSome)
    let leaves = Grad.leaves grads
    Assert.All(leaves |> List.filter (fun (n, _) -> n.StartsWith "decoder."), fun (_, g) -> Assert.True g.IsSome)

[<Fact>]
let ``valueAndGradWithAux returns every loss term with the gradients`` () =
    let cfg = VqVaeConfig.small
    let model = VqVae.init cfg (Rng.seed 5)
    let x = tinyBatch 5
    let total, terms, grads = Grad.valueAndGradWithAux (fun m -> let t = VqVae.lossTerms x m in t.Total, t) model
    let r, c, m, s = LossTerms.values terms
    Assert.Equal(Tensor.toScalar total, s)
    Assert.Equal(r + c + 0.25f * m, s, 5)
    Assert.True((Grad.tryGrad "vq.embedding.weight" grads).IsSome)

[<Fact>]
let ``tensor functions pipe`` () =
    let x = Tensor.ofArray [ 2; 3 ] [| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |]
    let s = x |> Tensor.reshape [ 3; 2 ] |> Tensor.sumDim 0 |> Tensor.toArray
    Assert.Equal<float32[]>([| 9.0f; 12.0f |], s)
    Assert.Equal(Some 2.0f, Grad.grad (fun t -> (t * t) |> Tensor.sum) (Tensor.scalar 1.0f) |> Option.map Tensor.toScalar)
    Assert.True((Grad.grad (fun t -> noDiff t |> Tensor.sum) (Tensor.scalar 1.0f)).IsNone)

[<Fact>]
let ``Checkpoint.load is a Result: Ok after save, Error naming a missing file`` () =
    let cfg = VqVaeConfig.small
    let model = VqVae.init cfg (Rng.seed 11)
    let path = Scratch.path "fsharp-api.safetensors"
    Checkpoint.save path model
    match Checkpoint.load path with
    | Ok loaded -> Assert.Equal<float32[]>(model.Codebook.Embedding.ToArray(), loaded.Codebook.Embedding.ToArray())
    | Error e -> failwith e
    match Checkpoint.load (path + ".missing") with
    | Ok _ -> failwith "a missing file loaded"
    | Error e -> Assert.Contains(".missing", e)

[<Fact>]
let ``synthetic batches feed trainStep through a fold`` () =
    let cfg = VqVaeConfig.small
    let model0 = VqVae.init cfg (Rng.seed 1)
    let adam = Adam.create 1e-2f
    let data = Dataset.synthetic 64 (Rng.seed 2)
    let (model, _), metrics =
        data
        |> Dataset.batches 16 (Rng.seed 3)
        |> Seq.take 6
        |> Seq.fold (fun (st, ms) x -> let st', m = VqVae.trainStep adam st x in st', m :: ms) ((model0, Adam.init adam model0), [])
    Assert.Equal(6, metrics.Length)
    Assert.True((List.head metrics).Total < (List.last metrics).Total)
    let codes = VqVae.encodeToCodes model (data |> Dataset.take 4 |> Dataset.toTensor)
    Assert.Equal<int[]>([| 4; 7; 7 |], codes.Shape)

[<Fact>]
let ``the F# Trainer, CodeUsage and Codebook modules call the library's training path`` () =
    let cfg = VqVaeConfig.small
    let model0 = VqVae.init cfg (Rng.seed 1)
    let adam = Adam.create 1e-2f
    let batches = [ for i in 0 .. 3 -> tinyBatch (10 + i) ]
    let mutable reports = 0
    let run = Trainer.run adam (VqVae.Functional.Training.TrainOptions(Steps = System.Nullable 6, OnStep = fun _ -> reports <- reports + 1)) batches model0
    Assert.Equal(6, reports)
    Assert.Equal(6, run.Metrics.Length)
    // The same as the C# trainer, step for step.
    let csharp = VqVae.Functional.Training.Trainer.Run(adam, model0, batches, System.Nullable 6)
    Assert.Equal<float32 list>([ for m in csharp.Metrics -> m.Total ], [ for m in run.Metrics -> m.Total ])
    // Resuming continues the step count from the state.
    let more = Trainer.resume adam run.State (Trainer.steps 2) batches run.Model
    Assert.Equal<int list>([ 7; 8 ], [ for m in more.Metrics -> m.Step ])
    // A training checkpoint through the F# surface: saved by the trainer's hook, read back with its step and state.
    let dir = Scratch.dir "fsharp-ckpt"
    Trainer.run adam (VqVae.Functional.Training.TrainOptions(Steps = System.Nullable 3, OnCheckpoint = fun s -> Checkpoint.saveTraining dir adam "run-f" s)) batches model0 |> ignore
    match Checkpoint.loadTraining adam (System.IO.Path.Combine(dir, "model.safetensors")) with
    | Ok point -> Assert.Equal(3, point.Step); Assert.NotNull(point.Optimizer)
    | Error e -> failwith e
    Assert.True(Result.isError (Checkpoint.loadTraining adam (System.IO.Path.Combine(dir, "optimizer.safetensors"))))
    // Code usage of the run, counted by the library.
    let usage = run.Usage
    Assert.Equal(CodeUsage.used usage + CodeUsage.dead usage, cfg.CodebookSize)
    Assert.Equal(CodeUsage.dead usage, (CodeUsage.deadCodes usage).Length)
    let fromIndices = CodeUsage.ofIndices 4 [| 0; 0; 1; 3 |]
    Assert.Equal<int64[]>([| 2L; 1L; 0L; 1L |], CodeUsage.counts fromIndices)
    Assert.Equal<int[]>([| 2 |], CodeUsage.deadCodes fromIndices)
    Assert.Equal(exp (-(0.5 * log 0.5 + 2.0 * 0.25 * log 0.25)), CodeUsage.perplexity fromIndices, 12)
    // k-means seeds every code from encoder rows; a dead-code restart moves only the dead ones.
    let rows = Codebook.encoderRows batches run.Model
    Assert.Equal(cfg.CodeDim, rows.Shape[1])
    let seeded = Codebook.kmeansInit (Rng.seed 5) batches run.Model
    Assert.NotEqual<float32[]>(run.Model.Codebook.Embedding.ToArray(), seeded.Codebook.Embedding.ToArray())
    let restarted = Codebook.restartDead (Rng.seed 6) rows (CodeUsage.ofIndices cfg.CodebookSize [| 0 |]) run.Model
    Assert.Equal<float32[]>(Tensor.toArray (run.Model.Codebook.Embedding.Narrow(0, 0, 1)), Tensor.toArray (restarted.Codebook.Embedding.Narrow(0, 0, 1)))

let ``one line puts the model and batches on libtorch and the DESIGN §5 step runs there`` () =
    let torch = Backend.torch ()
    Assert.Equal("torch", torch.Name)
    let cfg = VqVaeConfig.small
    let model0 = VqVae.init cfg (Rng.seed 42) |> Backend.moveTree torch
    let x = tinyBatch 1 |> Backend.move torch
    let adam = Adam.create 1e-2f
    let terms, grads = Grad.valueAndGrad (VqVae.lossTerms x >> LossTerms.total) model0
    let model1, _ = Adam.update adam grads (Adam.init adam model0) model0
    Assert.Same(torch, terms.Backend)
    Assert.True(Grad.leaves grads |> List.forall (fun (_, g) -> g |> Option.forall (fun g -> obj.ReferenceEquals(g.Backend, torch))))
    Assert.True(Tensor.toScalar (VqVae.lossTerms x model1 |> LossTerms.total) < Tensor.toScalar terms)
