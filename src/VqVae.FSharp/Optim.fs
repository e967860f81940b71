namespace VqVae.FSharp

open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Optim
open VqVae.Tensors

/// Adam as pure functions over parameter trees (optax style): `create`, `init`, `update`.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Adam =
    /// Adam with learning rate `lr` and PyTorch's other defaults (β₁ 0.9, β₂ 0.999, ε 1e-8).
    let create (lr: float32) = Adam.Create(lr)
    /// The zero state for a tree of parameters: `M` (exp_avg) and `V` (exp_avg_sq) moments, step counts.
    let init (adam: Adam) (parameters: 'T) : AdamState<'T> when 'T :> IParameterTree<'T> = adam.Init parameters
    /// One update: (gradients, state, parameters) → (parameters', state'). A leaf whose gradient is None is left as it is.
    let update (adam: Adam) (grads: Gradients<'T>) (state: AdamState<'T>) (parameters: 'T) : 'T * AdamState<'T> when 'T :> IParameterTree<'T> =
        let struct (p, s) = adam.Update(grads, state, parameters)
        p, s

/// Stochastic gradient descent (optionally with momentum) as pure functions over parameter trees.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Sgd =
    /// Plain SGD with learning rate `lr`.
    let create (lr: float32) = Sgd.Create(lr)
    /// SGD with momentum.
    let withMomentum (lr: float32) (momentum: float32) = Sgd.Create(lr, momentum)
    /// The initial state for a tree of parameters (`MomentumBuffer` is null without momentum).
    let init (sgd: Sgd) (parameters: 'T) : SgdState<'T> when 'T :> IParameterTree<'T> = sgd.Init parameters
    /// One update: (gradients, state, parameters) → (parameters', state').
    let update (sgd: Sgd) (grads: Gradients<'T>) (state: SgdState<'T>) (parameters: 'T) : 'T * SgdState<'T> when 'T :> IParameterTree<'T> =
        let struct (p, s) = sgd.Update(grads, state, parameters)
        p, s

/// Any optimizer (Adam, Sgd, clipped) through its interface.
[<RequireQualifiedAccess>]
module Optimizer =
    /// The initial state for a tree of parameters.
    let init (opt: IOptimizer) (parameters: 'T) : OptimizerState<'T> when 'T :> IParameterTree<'T> = opt.Init parameters
    /// One update: (gradients, state, parameters) → (parameters', state').
    let update (opt: IOptimizer) (grads: Gradients<'T>) (state: OptimizerState<'T>) (parameters: 'T) : 'T * OptimizerState<'T> when 'T :> IParameterTree<'T> =
        let struct (p, s) = opt.Update(grads, state, parameters)
        p, s
    /// `opt` with gradients first clipped to a global norm of at most `maxNorm`.
    let clipped (maxNorm: float32) (opt: IOptimizer) : IOptimizer = Clipped(opt, ClipByGlobalNorm maxNorm)
