namespace VqVae.FSharp

open VqVae.Tensors

/// Immutable, counter-based random keys (JAX style): derive new keys instead of reusing one.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Rng =
    /// A key from an integer seed.
    let seed (s: int) = Rng.Seed(int64 s)
    /// Two independent keys derived from this one.
    let split (rng: Rng) = rng.Split()
    /// A key derived from this one and a number (per step, per item).
    let fold (data: int64) (rng: Rng) = rng.Fold data
    /// A permutation of 0..n-1.
    let permutation (n: int) (rng: Rng) = rng.Permutation n
