namespace VqVae.FSharp

open System
open VqVae.Functional.Codebooks
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Tensors

type private CoreTrainer = VqVae.Functional.Training.Trainer
type private CoreCodeUsage = VqVae.Functional.Codebooks.CodeUsage
type private CoreRecipes = VqVae.Functional.Training.Recipes

/// The library's one training loop (`Trainer.Run`) as curried functions, data last. Options are the
/// library's record, written with F#'s initializer syntax:
/// `Trainer.run adam (TrainOptions(Steps = 600, OnStep = fun r -> printfn "%O" r.Metrics)) batches model`.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Trainer =
    /// Options for `steps` steps (the batches are cycled when the sequence is shorter), no hooks.
    let steps (steps: int) = TrainOptions(Steps = Nullable steps)

    /// Trains `model` from a fresh optimizer state over the batches.
    let run (optimizer: #IOptimizer) (options: TrainOptions) (batches: seq<Tensor>) (model: VqVaeModel) : TrainResult =
        CoreTrainer.Run(optimizer, model, optimizer.Init model, batches, options)

    /// Continues training from an optimizer state (e.g. a previous run's `State`).
    let resume (optimizer: #IOptimizer) (state: OptimizerState<VqVaeModel>) (options: TrainOptions) (batches: seq<Tensor>) (model: VqVaeModel) : TrainResult =
        CoreTrainer.Run(optimizer, model, state, batches, options)

    /// Carries out a plan (`TrainPlan(model, optimizer, PretrainSteps = n, KMeansInit = true)`), then trains.
    let fit (options: TrainOptions) (batches: seq<Tensor>) (plan: TrainPlan) : TrainResult =
        CoreTrainer.Fit(plan, batches, options)

/// Counting how often each code is chosen (the library's `CodeUsage`).
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module CodeUsage =
    /// Usage of `codes` codes from the chosen indices.
    let ofIndices (codes: int) (indices: int array) = CoreCodeUsage.FromCounts(CoreCodeUsage.Count(indices, codes))
    /// Usage from per-code counts.
    let ofCounts (counts: seq<int64>) = CoreCodeUsage.FromCounts counts
    /// Codes chosen at least once.
    let used (u: CodeUsage) = u.Used
    /// Codes never chosen.
    let dead (u: CodeUsage) = u.Dead
    /// The indices of the codes never chosen.
    let deadCodes (u: CodeUsage) = u.DeadCodes
    /// exp(−Σ p ln p) over the counts (1 when nothing was counted).
    let perplexity (u: CodeUsage) = u.Perplexity
    /// The counts, code by code.
    let counts (u: CodeUsage) = u.Counts |> Seq.toArray

/// Operations on a model's codebook (the library's `CodebookOps`).
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Codebook =
    /// Encoder outputs of the batches as channel-last rows [N, D] (no tape).
    let encoderRows (batches: seq<Tensor>) (model: VqVaeModel) = CodebookOps.EncoderRows(model, batches)
    /// The model with its codes seeded by k-means (10 iterations) on the batches' encoder outputs.
    let kmeansInit (rng: Rng) (batches: seq<Tensor>) (model: VqVaeModel) = CodebookOps.KMeansInit(model, batches, rng)
    /// The model with every code that `usage` counts as dead moved onto a random encoder row of `rows`.
    let restartDead (rng: Rng) (rows: Tensor) (usage: CodeUsage) (model: VqVaeModel) = CodebookOps.DeadCodeRestart(model, rows, usage, rng)

/// Training recipes of the library.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Recipes =
    /// Trains encoder and decoder as a plain autoencoder for `steps` steps: (model, loss per step).
    let pretrainAutoencoder (optimizer: #IOptimizer) (steps: int) (batches: seq<Tensor>) (model: VqVaeModel) =
        let struct (m, losses) = CoreRecipes.PretrainAutoencoder(model, optimizer, batches, steps)
        m, Seq.toList losses
