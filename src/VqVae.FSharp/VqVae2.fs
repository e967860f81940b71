namespace VqVae.FSharp

open System
open VqVae.Functional.Checkpoints
open VqVae.Functional.Hierarchical
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Tensors

/// VQ-VAE-2 configurations (VqVae2Config): the vqvae2 preset and functions that change one field.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module VqVae2Config =
    /// The vqvae2 preset for 28×28 and 32×32 digits: h=64, K_t=K_b=128, D=32, grids 4×4 and 8×8.
    let mnist = VqVae2Config.Mnist
    /// The config with h hidden channels.
    let withHidden (h: int) (c: VqVae2Config) = c.With(hidden = h)
    /// The config with K codes at both levels.
    let withCodebookSize (k: int) (c: VqVae2Config) = c.With(topCodebookSize = k, bottomCodebookSize = k)
    /// The config with code dimension D.
    let withCodeDim (d: int) (c: VqVae2Config) = c.With(codeDim = d)
    /// The config with commitment weight β.
    let withBeta (beta: float32) (c: VqVae2Config) = c.With(beta = beta)
    /// The config with EMA codebooks at both levels.
    let withEma (c: VqVae2Config) = c.With(quantizer = QuantizerKind.Ema)

/// The VQ-VAE-2 as curried functions over VqVae2Model (the library's VqVae2Model, VqVae2Routes,
/// VqVae2Checkpoint, VqVae2Evaluation and Trainer; nothing is re-implemented here).
[<RequireQualifiedAccess>]
module VqVae2 =
    /// A new model.
    let init (cfg: VqVae2Config) (rng: Rng) = VqVae2Model.Init(cfg, rng)
    /// Both code grids of images x (top [B,H'/8,W'/8], bottom [B,H'/4,W'/4]).
    let encode (model: VqVae2Model) (x: Tensor) = VqVae2Model.Encode(model, x)
    /// Images of height × width decoded from both code grids.
    let decodeCodes (height: int) (width: int) (model: VqVae2Model) (codes: HierarchicalCodes) =
        VqVae2Model.DecodeCodes(model, codes, Nullable height, Nullable width)
    /// x̂ for images x (no tape).
    let reconstruct (model: VqVae2Model) (x: Tensor) = VqVae2Model.Reconstruct(model, x)
    /// The loss terms per level (batch first, so that it composes with Grad.valueAndGrad).
    let lossTerms (x: Tensor) (model: VqVae2Model) = VqVae2Model.LossTerms(model, x)
    /// A loss term by name: recon, codebook_t, codebook_b, commitment_t, commitment_b, total.
    let term (name: string) (t: VqVae2LossTerms) = t.Term name
    /// Which groups a scalar function of the model reaches.
    let reach (f: VqVae2Model -> Tensor) (model: VqVae2Model) = VqVae2Routes.Reach(Func<_, _> f, model)
    /// One training step: (model', state', per-level metrics).
    let trainStep (opt: IOptimizer) (model: VqVae2Model, state: OptimizerState<VqVae2Model>) (x: Tensor) =
        let struct (m, s, metrics) = VqVae2TrainStep.Apply(opt, model, state, x)
        (m, s), metrics
    /// The library's Trainer over the batches.
    let train (opt: IOptimizer) (options: TrainOptions) (batches: Tensor seq) (model: VqVae2Model) =
        Trainer.Run(opt, model, batches, options)
    /// Held-out figures over every image of the batches (MSE, PSNR, per-level code usage).
    let evaluate (batches: Tensor seq) (model: VqVae2Model) = VqVae2Evaluation.Evaluate(model, batches)
    /// Writes a checkpoint (atomically).
    let save (path: string) (model: VqVae2Model) = VqVae2Checkpoint.Save(path, model)
    /// Reads a checkpoint, or the error.
    let load (path: string) : Result<VqVae2Model, string> =
        try Ok(VqVae2Checkpoint.Load path) with :? CheckpointException as e -> Error e.Message

/// The hierarchical prior of a VQ-VAE-2 (the library's HierarchicalPriors and HierarchicalPriorCheckpoint): a top
/// prior and a bottom prior conditioned on the top codes, sampled top then bottom.
[<RequireQualifiedAccess>]
module HierarchicalPrior =
    open VqVae.Functional.Prior
    /// New top and bottom priors for a VQ-VAE-2 config and an image size (channels, gated layers).
    let init (cfg: VqVae2Config) (height: int) (width: int) (channels: int) (layers: int) (rng: Rng) =
        HierarchicalPriors.Init(cfg, height, width, rng, channels, layers)
    /// Both code grids of all images, in batches of 256.
    let encodeAll (model: VqVae2Model) (images: Tensor) = HierarchicalPriors.EncodeAll(model, images)
    /// Fits both priors (the bottom given the true top codes) with Adam.
    let fit (steps: int) (batch: int) (lr: float32) (seed: int64) (codes: HierarchicalCodes) (prior: HierarchicalPrior) =
        HierarchicalPriors.Fit(prior, codes, PriorFitOptions(steps, batch, lr, seed))
    /// Held-out bits per code of each level with its uniform and unigram baselines.
    let evaluate (train: HierarchicalCodes) (heldOut: HierarchicalCodes) (prior: HierarchicalPrior) =
        HierarchicalPriors.Evaluate(prior, train, heldOut).ToTuple()
    /// count code grid pairs, top then bottom.
    let sample (temperature: float32) (topK: int) (seed: int64) (count: int) (prior: HierarchicalPrior) =
        HierarchicalPriors.Sample(prior, count, SamplingOptions(temperature, topK, seed))
    /// count sampled images of height × width.
    let sampleImages (model: VqVae2Model) (height: int) (width: int) (seed: int64) (count: int) (prior: HierarchicalPrior) =
        HierarchicalPriors.SampleImages(model, prior, count, SamplingOptions(Seed = seed), height, width)
    /// Writes both priors to one file.
    let save (path: string) (prior: HierarchicalPrior) = HierarchicalPriorCheckpoint.Save(path, prior)
    /// Reads both priors, or the error.
    let load (path: string) : Result<HierarchicalPrior, string> =
        try Ok (HierarchicalPriorCheckpoint.Load path).Prior with :? CheckpointException as e -> Error e.Message
