namespace VqVae.FSharp

open System
open VqVae.Tensors

/// Which parameter groups of a VQ-VAE a scalar function sends gradient to.
/// Groups are found by the PyTorch names of the leaves: `encoder.*`, `vq.*`, `decoder.*`.
[<StructuredFormatDisplay("{Display}")>]
type Reach =
    { Encoder: bool; Codebook: bool; Decoder: bool }
    /// One line, as the record would be written: `{ Encoder = true; Codebook = false; Decoder = true }`.
    member r.Display = $"{{ Encoder = %b{r.Encoder}; Codebook = %b{r.Codebook}; Decoder = %b{r.Decoder} }}"
    override r.ToString() = r.Display

/// Functional reverse-mode gradients (JAX style) over tensors and parameter trees.
/// A leaf that the output never reaches has no gradient: `None` here, never zeros.
[<RequireQualifiedAccess>]
module Grad =
    /// Gradient of a scalar function of one tensor (None if `x` does not reach the output).
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor option =
        Grad.Gradient(Func<_, _> f, x) |> Option.ofObj

    /// The value of a scalar function of a parameter tree and its gradients, a tree of the same type
    /// whose leaves are null where no gradient reaches (read them with `leaves` or `tryGrad`).
    let valueAndGrad (f: 'T -> Tensor) (tree: 'T) : Tensor * 'T when 'T :> IParameterTree<'T> =
        let struct (v, g) = Grad.ValueAndGrad(Func<'T, Tensor> f, tree)
        v, g

    /// Like `valueAndGrad` for a function that also returns auxiliary data (e.g. all loss terms):
    /// `f` returns (loss, aux); the result is (loss, aux, gradients).
    let valueAndGradWithAux (f: 'T -> Tensor * 'A) (tree: 'T) : Tensor * 'A * 'T when 'T :> IParameterTree<'T> =
        let struct (v, a, g) = Grad.ValueAndGradWithAux(Func<'T, struct (Tensor * 'A)>(fun t -> let l, a = f t in struct (l, a)), tree)
        v, a, g

    /// The named leaves of a tree (gradient trees: None where no gradient reaches).
    let leaves (tree: 'T) : (string * Tensor option) list when 'T :> IParameterTree<'T> =
        [ for l in Tree.Leaves tree -> l.Name, Option.ofObj l.Value ]

    /// The gradient of the named leaf (e.g. "vq.embedding.weight"), or None where none reached it.
    /// An unknown name is an error listing the names.
    let tryGrad (name: string) (grads: 'T) : Tensor option when 'T :> IParameterTree<'T> =
        let all = leaves grads
        match List.tryFind (fun (n, _) -> n = name) all with
        | Some (_, g) -> g
        | None ->
            let names = all |> List.map fst |> String.concat ", "
            invalidArg (nameof name) $"tryGrad: no leaf named '{name}'; the leaves are {names}."

    /// Which leaves a scalar function reaches, by name.
    let reachLeaves (f: 'T -> Tensor) (tree: 'T) : (string * bool) list when 'T :> IParameterTree<'T> =
        [ for struct (n, r) in Grad.Reach(Func<'T, Tensor> f, tree) -> n, r ]

    /// Which parameter groups (encoder, codebook, decoder) a scalar function reaches: a group
    /// counts as reached when any of its leaves gets a gradient.
    let reach (f: 'T -> Tensor) (tree: 'T) : Reach when 'T :> IParameterTree<'T> =
        let r = reachLeaves f tree
        let any (prefix: string) = r |> List.exists (fun (n, hit) -> hit && n.StartsWith(prefix, StringComparison.Ordinal))
        { Encoder = any "encoder."; Codebook = any "vq."; Decoder = any "decoder." }
