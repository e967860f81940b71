namespace VqVae.FSharp

open VqVae.Functional.Checkpoints
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Tensors

/// Configs of the Gated PixelCNN prior over code grids.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module PriorConfig =
    /// A prior for K codes on an h×w grid (64 channels, 8 layers, 3×3 kernels).
    let forGrid (k: int) (h: int) (w: int) = PriorConfig.For(k, h, w)
    let private copy (c: PriorConfig) channels layers classes =
        PriorConfig(c.CodebookSize, c.Height, c.Width, channels, layers, c.Kernel, classes, c.ConditionCodes, c.ConditionHeight, c.ConditionWidth)
    /// The same config with other stack widths.
    let withChannels (channels: int) (cfg: PriorConfig) = copy cfg channels cfg.Layers cfg.Classes
    /// The same config with another number of gated layers.
    let withLayers (layers: int) (cfg: PriorConfig) = copy cfg cfg.Channels layers cfg.Classes
    /// The same config, conditioned on one of `classes` labels per sample.
    let withClasses (classes: int) (cfg: PriorConfig) = copy cfg cfg.Channels cfg.Layers classes

/// The Gated PixelCNN prior as curried functions (the C# `PriorModel`, `PriorTraining`, `PriorSampling`, `PriorFitting`).
[<RequireQualifiedAccess>]
module Prior =
    /// A fresh prior.
    let init (cfg: PriorConfig) (rng: Rng) = PriorModel.Init(cfg, rng)
    /// Logits [B,K,H,W] of each code given the codes before it.
    let logits (prior: PixelCnnPrior) (codes: CodeIndices) = PriorModel.Logits(prior, codes)
    /// Mean cross-entropy per code (`.Nats` tensor, `.BitsPerCode`).
    let loss (codes: CodeIndices) (prior: PixelCnnPrior) = PriorModel.Loss(prior, codes)
    /// One training step: ((prior, state), codes) → ((prior', state'), nats per code before the step).
    let trainStep (opt: IOptimizer) (prior: PixelCnnPrior, state: OptimizerState<PixelCnnPrior>) (codes: CodeIndices) =
        let struct (p, s, nats) = PriorTraining.Step(opt, prior, state, codes)
        (p, s), nats
    /// Fits a prior with Adam for `steps` steps of `batch` grids (seeded), calling `onStep step nats`.
    let fit (steps: int) (batch: int) (lr: float32) (seed: int64) (onStep: int -> float -> unit) (codes: CodeIndices) (prior: PixelCnnPrior) =
        PriorFitting.Fit(prior, codes, PriorFitOptions(steps, batch, lr, seed), System.Action<int, float>(onStep))
    /// `count` code grids drawn in raster order with temperature, top-k (0: all) and a seed.
    let sample (temperature: float32) (topK: int) (seed: int64) (count: int) (prior: PixelCnnPrior) =
        PriorSampling.Sample(prior, count, SamplingOptions(temperature, topK, seed))
    /// Held-out NLL, uniform and unigram baselines, all in bits per code.
    let evaluate (train: CodeIndices) (heldOut: CodeIndices) (prior: PixelCnnPrior) = PriorFitting.Evaluate(prior, train, heldOut)
    /// Code grids of images [N,C,H,W] in the model's range.
    let encodeAll (model: VqVaeModel) (images: Tensor) = PriorFitting.EncodeAll(model, images)
    /// Which positions the logits at `position` (of sample `sample`) depend on, from the exact gradient.
    let reach (sample: int) (position: int) (embedded: Tensor) (prior: PixelCnnPrior) = Causality.Reach(prior, embedded, sample, position)
    /// Writes a prior checkpoint naming the VQ-VAE it models.
    let save (path: string) (vqvae: string) (prior: PixelCnnPrior) = PriorCheckpoint.Save(path, prior, vqvae)
    /// Reads a prior checkpoint.
    let load (path: string) : Result<PixelCnnPrior, string> =
        try Ok (PriorCheckpoint.Load(path).Prior) with :? CheckpointException as e -> Error e.Message
