namespace VqVae.FSharp

open System
open VqVae.Functional.Model
open VqVae.Functional.Routing
open VqVae.Tensors

/// Which parameter groups of a VQ-VAE a scalar function sends gradient to (the F# record of the
/// library's `GroupReach`; buffers never count).
[<StructuredFormatDisplay("{Display}")>]
type Reach =
    { Encoder: bool; Codebook: bool; Decoder: bool }
    /// One line, as the record would be written: `{ Encoder = true; Codebook = false; Decoder = true }`.
    member r.Display = $"{{ Encoder = %b{r.Encoder}; Codebook = %b{r.Codebook}; Decoder = %b{r.Decoder} }}"
    override r.ToString() = r.Display
    /// The library's reach value as this record.
    static member Of(r: GroupReach) = { Encoder = r.Encoder; Codebook = r.Codebook; Decoder = r.Decoder }

/// Functional reverse-mode gradients (JAX style) over tensors and parameter trees.
/// A leaf that the output never reaches has no gradient: `None` here, never zeros.
[<RequireQualifiedAccess>]
module Grad =
    /// Gradient of a scalar function of one tensor (None if `x` does not reach the output).
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor option =
        Grad.Gradient(Func<_, _> f, x) |> Option.ofObj

    /// The value of a scalar function of a parameter tree and its gradients: one optional tensor per
    /// named leaf (read them with `tryGrad` or `leaves`).
    let valueAndGrad (f: 'T -> Tensor) (tree: 'T) : Tensor * Gradients<'T> when 'T :> IParameterTree<'T> =
        let struct (v, g) = Grad.ValueAndGrad(Func<'T, Tensor> f, tree)
        v, g

    /// Like `valueAndGrad` for a function that also returns auxiliary data (e.g. all loss terms):
    /// `f` returns (loss, aux); the result is (loss, aux, gradients).
    let valueAndGradWithAux (f: 'T -> Tensor * 'A) (tree: 'T) : Tensor * 'A * Gradients<'T> when 'T :> IParameterTree<'T> =
        let struct (v, a, g) = Grad.ValueAndGradWithAux(Func<'T, struct (Tensor * 'A)>(fun t -> let l, a = f t in struct (l, a)), tree)
        v, a, g

    /// The named gradients in the tree's order, None where no gradient reaches.
    let leaves (grads: Gradients<'T>) : (string * Tensor option) list =
        [ for l in grads -> l.Name, Option.ofObj l.Gradient ]

    /// The gradient of the named leaf (e.g. "vq.embedding.weight"), or None where none reached it.
    /// An unknown name is an error listing the names.
    let tryGrad (name: string) (grads: Gradients<'T>) : Tensor option = Option.ofObj grads[name]

    /// Every present gradient mapped by `f`; missing ones stay missing.
    let map (f: Tensor -> Tensor) (grads: Gradients<'T>) : Gradients<'T> = grads.Map(Func<_, _> f)

    /// √(Σ ‖g‖²) over the present gradients.
    let globalNorm (grads: Gradients<'T>) : float = grads.GlobalNorm()

    /// Which leaves a scalar function reaches, by name.
    let reachLeaves (f: 'T -> Tensor) (tree: 'T) : (string * bool) list when 'T :> IParameterTree<'T> =
        [ for struct (n, r) in Grad.Reach(Func<'T, Tensor> f, tree) -> n, r ]

    /// Which parameter groups of a VQ-VAE (encoder, codebook, decoder) a scalar function reaches:
    /// the library's `Routes.Reach` (a group counts when any of its parameters gets a gradient; buffers never).
    let reach (f: VqVaeModel -> Tensor) (model: VqVaeModel) : Reach =
        Reach.Of(Routes.Reach(Func<_, _> f, model))
