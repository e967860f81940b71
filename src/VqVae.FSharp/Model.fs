namespace VqVae.FSharp

open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Tensors

type private CoreVqVae = VqVae.Functional.Model.VqVaeModel

/// VQ-VAE configurations: the presets of DESIGN §4 and functions that change one field.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module VqVaeConfig =
    /// The reference model: 28×28×1 → 7×7×64, h=128, K=512, D=64, β=0.25.
    let mnist = VqVaeConfig.Mnist
    /// The small tutorial model (3×3 convs, K=128, D=16, inputs in [−0.5, 0.5]).
    let mnistSmall = VqVaeConfig.MnistSmall
    /// The paper's model with residual stacks (h=256, K=512).
    let paper = VqVaeConfig.Paper
    /// The reference architecture at test size (h=8, K=16, D=4).
    let small = VqVaeConfig.Small
    /// The preset with this name (mnist, mnistSmall, paper, small), or an error message.
    let tryByName (name: string) : Result<VqVaeConfig, string> =
        try Ok(VqVaeConfig.ByName name) with :? System.ArgumentException as e -> Error e.Message

    /// The config with h hidden channels.
    let withHidden (h: int) (c: VqVaeConfig) = c.With(hidden = h)
    /// The config with K codes.
    let withCodebookSize (k: int) (c: VqVaeConfig) = c.With(codebookSize = k)
    /// The config with code dimension D.
    let withCodeDim (d: int) (c: VqVaeConfig) = c.With(codeDim = d)
    /// The config with commitment weight β.
    let withBeta (beta: float32) (c: VqVaeConfig) = c.With(beta = beta)
    /// The config with the EMA codebook (no codebook gradient; EMA cluster statistics instead).
    let withEma (c: VqVaeConfig) = c.With(quantizer = QuantizerKind.Ema)

/// The named loss terms of a forward pass.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module LossTerms =
    /// recon + codebook + β·commitment (EMA: recon + β·commitment).
    let total (t: LossTerms) = t.Total
    /// The reconstruction term.
    let recon (t: LossTerms) = t.Recon
    /// mean((z_q − noDiff z_e)²).
    let codebook (t: LossTerms) = t.Codebook
    /// mean((z_e − noDiff z_q)²).
    let commitment (t: LossTerms) = t.Commitment
    /// The batch's codebook perplexity.
    let perplexity (t: LossTerms) = t.Perplexity
    /// A term by its gradient-file name: recon, codebook, commitment, total.
    let term (name: string) (t: LossTerms) = t.Term name
    /// The four terms as floats (recon, codebook, commitment, total).
    let values (t: LossTerms) = let struct (r, c, m, s) = t.Values in r, c, m, s

/// The VQ-VAE as pure functions: the model is an immutable record, the image batch comes before the
/// model so that a loss composes into a function of the model (`VqVae.lossTerms x >> LossTerms.total`).
/// The model's config is the one source of its settings (β, quantizer, reconstruction, input range):
/// to change one, change the model's config (`VqVae.withConfig`).
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module VqVae =
    /// A new model for the config, initialised from the key like PyTorch.
    let init (cfg: VqVaeConfig) (rng: Rng) = CoreVqVae.Init(cfg, rng)
    /// z_e = encoder(x) [B,D,H/4,W/4].
    let encode (model: VqVaeModel) (x: Tensor) = CoreVqVae.Encode(model, x)
    /// Nearest codes for z_e: decoder input (straight-through), z_q, indices, perplexity.
    let quantize (model: VqVaeModel) (ze: Tensor) = CoreVqVae.Quantize(model, ze)
    /// x̂ = decoder(z).
    let decode (model: VqVaeModel) (z: Tensor) = CoreVqVae.Decode(model, z)
    /// decode(quantize(encode x)), inference mode, no tape.
    let reconstruct (model: VqVaeModel) (x: Tensor) = CoreVqVae.Reconstruct(model, x)
    /// Code indices [B,H,W] of images x.
    let encodeToCodes (model: VqVaeModel) (x: Tensor) = CoreVqVae.EncodeToCodes(model, x)
    /// Images decoded from code indices.
    let decodeCodes (model: VqVaeModel) (codes: CodeIndices) = CoreVqVae.DecodeCodes(model, codes)
    /// z_q [B,D,H,W] for code indices.
    let codesToLatents (model: VqVaeModel) (codes: CodeIndices) = CoreVqVae.CodesToLatents(model, codes)
    /// The loss terms of the model on images x (pixels in [0,1]; training mode), with β, the quantizer,
    /// the reconstruction kind and the input range from the model's config.
    let lossTerms (x: Tensor) (model: VqVaeModel) = CoreVqVae.LossTerms(model, x)
    /// The loss terms in evaluation mode (BatchNorm running statistics, no buffer updates).
    let evalLossTerms (x: Tensor) (model: VqVaeModel) = CoreVqVae.LossTerms(model, x, false)
    /// The model with another config of the same architecture (e.g. `VqVaeConfig.withBeta 0.5f model.Config`):
    /// how β or the loss kind is varied, since the model's config is their one source.
    let withConfig (cfg: VqVaeConfig) (model: VqVaeModel) = model.With(config = cfg)
    /// One pure training step with any optimizer: (model, state) and a batch → (model', state'), metrics.
    /// Handles what the hand-written §5 step does not: BatchNorm statistics and the EMA codebook update.
    /// The state keeps its type (`AdamState` in, `AdamState` out): an optimizer returns the kind of state it was given.
    let trainStep (optimizer: #IOptimizer) (model: VqVaeModel, state: 'S) (x: Tensor) : (VqVaeModel * 'S) * StepMetrics
            when 'S :> OptimizerState<VqVaeModel> =
        let struct (m, s, metrics) = TrainStep.Apply<'S>(optimizer, model, state, x)
        (m, s), metrics

/// Gradient routing of a VQ-VAE: which loss term reaches which parameter group.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Routing =
    /// The routing matrix (terms × encoder/codebook/decoder, gradient norms; None where not reached).
    let matrix (x: Tensor) (model: VqVaeModel) = Routes.Matrix(model, x)
    /// The rows of the matrix as (term, Reach).
    let reaches (m: RoutingMatrix) =
        [ for r in m.Rows -> r.Term, { Encoder = r.Encoder.HasValue; Codebook = r.Codebook.HasValue; Decoder = r.Decoder.HasValue } ]
    /// Gradient norms of one row: (encoder, codebook, decoder), None where not reached.
    let norms (term: string) (m: RoutingMatrix) =
        let r = m[term]
        Option.ofNullable r.Encoder, Option.ofNullable r.Codebook, Option.ofNullable r.Decoder

/// Held-out figures over a whole set of images (pixels in [0,1]): MSE, MSE/variance, PSNR,
/// perplexity and codes used (the library's Evaluator).
[<RequireQualifiedAccess>]
module Evaluation =
    /// The report of the model over every image of the batches (tensors [B,C,H,W]).
    let run (model: CoreVqVae) (batches: Tensor seq) = VqVae.Functional.Evaluation.Evaluator.Evaluate(model, batches)
