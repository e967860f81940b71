/// NearestCode.Argmin against brute force, ties, NaN rejection and determinism.
// Shares the global Threading.Threads setting with DeterminismTests: never run them side by side.
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.KernelsNearest

open System
open Xunit
open FsCheck.FSharp
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.ThreadCount
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

let dist2 (z: float32[]) i (e: float32[]) j d =
    let mutable s = 0.0
    for p in 0 .. d - 1 do
        let t = float z.[i * d + p] - float e.[j * d + p]
        s <- s + t * t
    s

let argmin (z: float32[]) (n: int) (d: int) (e: float32[]) (k: int) =
    let idx = Array.create n -1
    NearestCode.Argmin(ReadOnlySpan z, n, d, ReadOnlySpan e, k, Span idx)
    idx

/// n rows of dimension d against k codes, values from a seed.
type NearestCase = { N: int; D: int; K: int; Seed: int }

let caseGen = gen {
    let! n = Gen.choose (1, 150)
    let! d = Gen.choose (1, 70)
    let! k = Gen.choose (1, 80)
    let! seed = Gen.choose (0, 1_000_000)
    return { N = n; D = d; K = k; Seed = seed } }

/// The property's check for one case (also run on cases too large to draw).
let checkNearest (c: NearestCase) =
    let n, d, k, seed = c.N, c.D, c.K, c.Seed
    let z, e = randomArray seed (n * d), randomArray (seed + 1) (k * d)
    let idx = argmin z n d e k
    for i in 0 .. n - 1 do
        let dists = Array.init k (fun j -> dist2 z i e j d)
        let best = Array.min dists
        let zn = dist2 z i (Array.zeroCreate d) 0 d
        let en = Array.init k (fun j -> dist2 e j (Array.zeroCreate d) 0 d) |> Array.max
        let tol = 1e-5 * (zn + en + 1.0)
        if idx.[i] < 0 || idx.[i] >= k || dists.[idx.[i]] > best + tol then
            failwithf "row %d: picked %d (%g), best %g" i idx.[i] (if idx.[i] >= 0 && idx.[i] < k then dists.[idx.[i]] else nan) best
        // Where the minimum is clear, the pick is exactly the brute-force one.
        let first = Array.findIndex (fun v -> v = best) dists
        let clear = dists |> Array.indexed |> Array.forall (fun (j, v) -> j = first || v > best + 2.0 * tol)
        if clear && idx.[i] <> first then failwithf "row %d: picked %d, clear minimum at %d" i idx.[i] first
    true

[<PropertyTest(100)>]
let ``Argmin picks a nearest code (brute force in double)`` (c: NearestCase) = checkNearest c

[<Fact>]
let ``Argmin over codes longer than one packed depth chunk (two chunks and a short third)`` () =
    // Gemm.KC = 384: the codebook is packed in depth chunks of ChunkDepth(773) = 258.
    Assert.True(checkNearest { N = 40; D = 2 * Gemm.KC + 5; K = 12; Seed = 7 })

[<Fact>]
let ``ties go to the lowest index`` () =
    let d, k = 19, 40
    let r = Random(5)
    let e = randomArray 6 (k * d)
    // Duplicate codes: 31 = 7 = 3, 22 = 9.
    for (dst, src) in [ 7, 3; 31, 3; 22, 9 ] do Array.blit e (src * d) e (dst * d) d
    let rows = [| 3; 7; 31; 9; 22; 0 |]
    let z = Array.concat [ for j in rows -> Array.init d (fun p -> e.[j * d + p] + float32 (r.NextDouble() * 1e-3)) ]
    let idx = argmin z rows.Length d e k
    Assert.Equal<int[]>([| 3; 3; 3; 9; 9; 0 |], idx)
    // Exact ties with a vector-width-crossing layout: all codes equal → index 0.
    let same = Array.init (37 * 4) (fun i -> float32 (i % 4))
    Assert.Equal<int[]>([| 0; 0 |], argmin [| 1.0f; 2.0f; 3.0f; 4.0f; 0.0f; 0.0f; 0.0f; 0.0f |] 2 4 same 37)

[<Fact>]
let ``NaN in z is rejected naming z`` () =
    let z = randomArray 1 (10 * 8)
    z.[37] <- nanf
    let e = Assert.Throws<ArgumentException>(fun () -> argmin z 10 8 (randomArray 2 (5 * 8)) 5 |> ignore)
    Assert.Equal("z", e.ParamName)

[<Fact>]
let ``bad sizes are rejected naming the argument`` () =
    let name (n: string) (f: unit -> unit) = refusedNaming n [] f |> ignore
    name "z" (fun () -> argmin (Array.zeroCreate 7) 2 4 (Array.zeroCreate 8) 2 |> ignore)
    name "codebook" (fun () -> argmin (Array.zeroCreate 8) 2 4 (Array.zeroCreate 7) 2 |> ignore)
    name "n" (fun () -> NearestCode.Argmin(ReadOnlySpan(Array.zeroCreate 8), -1, 4, ReadOnlySpan(Array.zeroCreate 8), 2, Span(Array.zeroCreate 1)))
    name "indices" (fun () -> NearestCode.Argmin(ReadOnlySpan(Array.zeroCreate 8), 2, 4, ReadOnlySpan(Array.zeroCreate 8), 2, Span(Array.zeroCreate 1)))

[<Fact>]
let ``Argmin gives identical indices for 1 and 2 threads`` () =
    let n, d, k = 3136, 64, 512
    let z, e = randomArray 8 (n * d), randomArray 9 (k * d)
    let one = withThreads 1 (fun () -> argmin z n d e k)
    let two = withThreads 2 (fun () -> argmin z n d e k)
    Assert.Equal<int[]>(one, two)
