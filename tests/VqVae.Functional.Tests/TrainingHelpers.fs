/// Shared pieces for the optimizer, training, codebook and checkpoint tests.
module VqVae.Functional.Tests.TrainingHelpers

open FsCheck
open FsCheck.FSharp
open VqVae.Tensors

let config n = Config.QuickThrowOnFailure.WithMaxTest(n)

/// A two-leaf parameter tree for optimizer tests.
type Pair =
    { A: Tensor; B: Tensor }
    interface IParameterTree<Pair> with
        member p.Flatten w =
            w.Leaf("a", p.A)
            w.Leaf("b", p.B)
        member _.Unflatten r = { A = r.Leaf(); B = r.Leaf() }

let tensor (rng: Rng) (lo: float32) (hi: float32) (shape: int[]) = Tensor.Uniform(rng, lo, hi, shape)

/// Mean and population standard deviation of every element, in double, written out independently of the library's.
let meanStd (t: Tensor) =
    let a = t.ToArray() |> Array.map float
    let mean = Array.average a
    mean, sqrt (Array.averageBy (fun v -> (v - mean) * (v - mean)) a)

/// A random pair: A of shape [m], B of shape [n,2], values in [-1, 1).
let randomPair (rng: Rng) m n =
    let struct (r1, r2) = rng.Split()
    { A = tensor r1 -1f 1f [| m |]; B = tensor r2 -1f 1f [| n; 2 |] }

/// Gradients for a pair from a raw pair whose leaves may be null (no gradient reaches them).
let asGrads (p: Pair) (g: Pair) =
    let orNull (t: Tensor) : Tensor | null = match box t with null -> null | _ -> t
    Gradients<Pair>(p, [| orNull g.A; orNull g.B |])

let seeds = Arb.fromGen (Gen.choose (0, 1_000_000))

let maxAbsDiff (a: float32[]) (b: float[]) =
    Array.map2 (fun (x: float32) y -> abs (float x - y)) a b |> Array.fold max 0.0
