/// Sgemm against a naive double-accumulated reference, determinism and argument checks.
// Shares the global Threading.Threads setting with DeterminismTests: never run them side by side.
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.KernelsGemm

open System
open Xunit
open FsCheck.FSharp
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference
open VqVae.Tensors.Tests.ThreadCount
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

type GemmCase =
    { TransA: bool; TransB: bool; M: int; N: int; K: int; Alpha: float32; Beta: float32
      PadA: int; PadB: int; PadC: int; Seed: int }

/// Sizes from 1, primes and non-multiples of the register tiles, sometimes deep enough to cross a K chunk.
let size = Gen.frequency [ 6, Gen.choose (1, 40); 2, Gen.elements [ 1; 2; 7; 13; 47; 48; 49; 97; 101 ]; 1, Gen.choose (41, 140) ]
let depth = Gen.frequency [ 6, Gen.choose (1, 40); 2, Gen.elements [ 1; 3; 383; 384; 385; 769 ] ]

let gemmCase =
    gen {
        let! ta = Gen.elements [ false; true ]
        let! tb = Gen.elements [ false; true ]
        let! m = size
        let! n = size
        let! k = depth
        let! alpha = Gen.elements [ 1.0f; 0.5f; -2.0f; 0.0f; 1.25f ]
        let! beta = Gen.elements [ 0.0f; 1.0f; 0.75f; -1.0f ]
        let! pa = Gen.choose (0, 3)
        let! pb = Gen.choose (0, 3)
        let! pc = Gen.choose (0, 3)
        let! seed = Gen.choose (0, 1_000_000)
        return { TransA = ta; TransB = tb; M = m; N = n; K = k; Alpha = alpha; Beta = beta; PadA = pa; PadB = pb; PadC = pc; Seed = seed }
    }

/// Operands for a case: C starts as NaN when beta = 0 (must be overwritten unread), padding cells as NaN too.
let operands (c: GemmCase) =
    let aRows, aCols = if c.TransA then c.K, c.M else c.M, c.K
    let bRows, bCols = if c.TransB then c.N, c.K else c.K, c.N
    let lda, ldb, ldc = aCols + c.PadA, bCols + c.PadB, c.N + c.PadC
    let a = randomArray c.Seed (aRows * lda)
    let b = randomArray (c.Seed + 1) (bRows * ldb)
    let cc = if c.Beta = 0.0f then Array.create (c.M * ldc) nanf else randomArray (c.Seed + 2) (c.M * ldc)
    a, lda, b, ldb, cc, ldc

/// Sgemm at the current ISA level (CpuIsa.Level) against the double reference; padding of C untouched.
let checkCase (c: GemmCase) =
    let isa = CpuIsa.Name CpuIsa.Level
    let a, lda, b, ldb, cc, ldc = operands c
    let expected, scale = gemmRef c.TransA c.TransB c.M c.N c.K c.Alpha a lda b ldb c.Beta cc ldc
    let before = Array.copy cc
    Gemm.Sgemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, c.Beta, Span cc, ldc)
    for i in 0 .. c.M - 1 do
        for j in 0 .. c.N - 1 do
            let got = float cc.[i * ldc + j]
            let err = abs (got - expected.[i, j])
            if not (err <= 1e-5 * (scale.[i, j] + 1.0) * sqrt (float c.K + 1.0)) then
                failwithf "%s %A: C[%d,%d] = %g, expected %g" isa c i j got expected.[i, j]
        for j in c.N .. ldc - 1 do
            if BitConverter.SingleToInt32Bits cc.[i * ldc + j] <> BitConverter.SingleToInt32Bits before.[i * ldc + j] then
                failwithf "%s %A: padding C[%d,%d] was written" isa c i j
    true

[<PropertyTest(150)>]
let ``Sgemm matches the double reference over random shapes, transposes, alpha, beta and strides`` (c: GemmCase) =
    checkCase c

// Every ISA level's micro-kernel: KernelsIsa.

[<Fact>]
let ``Sgemm with k = 0 scales C by beta and beta = 0 clears NaNs`` () =
    let c = [| nanf; 2.0f; 3.0f; nanf |]
    Gemm.Sgemm(false, false, 2, 2, 0, 1.0f, ReadOnlySpan<float32>.Empty, 1, ReadOnlySpan<float32>.Empty, 2, 0.0f, Span c, 2)
    Assert.Equal<float32[]>([| 0.0f; 0.0f; 0.0f; 0.0f |], c)
    let c2 = [| 1.0f; 2.0f |]
    Gemm.Sgemm(false, false, 1, 2, 0, 1.0f, ReadOnlySpan<float32>.Empty, 1, ReadOnlySpan<float32>.Empty, 2, 0.5f, Span c2, 2)
    Assert.Equal<float32[]>([| 0.5f; 1.0f |], c2)

[<Fact>]
let ``Sgemm with no rows or no columns does nothing, whatever k, alpha and beta`` () =
    let a, b = Array.create 6 1f, Array.create 6 1f
    let c = [| nanf; 7f |]
    Gemm.Sgemm(false, false, 0, 2, 3, 1f, ReadOnlySpan a, 3, ReadOnlySpan b, 2, 0f, Span c, 2)   // m = 0
    Gemm.Sgemm(false, false, 2, 0, 3, 1f, ReadOnlySpan a, 3, ReadOnlySpan b, 1, 0f, Span c, 1)   // n = 0
    Assert.Equal<int[]>([| BitConverter.SingleToInt32Bits nanf; BitConverter.SingleToInt32Bits 7f |], c |> Array.map BitConverter.SingleToInt32Bits)

[<Fact>]
let ``Sgemm gives identical bits for 1 and 2 threads and run to run`` () =
    for (ta, tb) in [ false, false; true, true; false, true ] do
        let m, n, k = 203, 517, 901
        let a = randomArray 11 (m * k)
        let b = randomArray 12 (k * n)
        let run t =
            withThreads t (fun () ->
                let c = Array.zeroCreate (m * n)
                Gemm.Sgemm(ta, tb, m, n, k, 0.75f, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, (if tb then k else n), 0.0f, Span c, n)
                c)
        let one = run 1
        Assert.True(sameBits one (run 2), "1 vs 2 threads")
        Assert.True(sameBits (run 2) (run 2), "2 threads run to run")
        Assert.True(sameBits one (run 3), "1 vs 3 threads")

let private throwsNaming (name: string) (f: unit -> unit) = refusedNaming name [] f |> ignore

[<Fact>]
let ``Sgemm rejects bad sizes naming the argument`` () =
    let a = Array.zeroCreate<float32> 12
    let b = Array.zeroCreate<float32> 12
    let c = Array.zeroCreate<float32> 12
    throwsNaming "m" (fun () -> Gemm.Sgemm(false, false, -1, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    throwsNaming "k" (fun () -> Gemm.Sgemm(false, false, 3, 3, -4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    throwsNaming "lda" (fun () -> Gemm.Sgemm(false, false, 3, 3, 4, 1.0f, ReadOnlySpan a, 3, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    throwsNaming "a" (fun () -> Gemm.Sgemm(false, false, 4, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    throwsNaming "b" (fun () -> Gemm.Sgemm(false, true, 3, 4, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 4, 0.0f, Span c, 4))
    throwsNaming "c" (fun () -> Gemm.Sgemm(false, false, 3, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 5))
    let e = Assert.Throws<ArgumentException>(fun () -> Gemm.Sgemm(false, false, 4, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    Assert.Contains("16", e.Message)
    Assert.Contains("12", e.Message)
    throwsNaming "n" (fun () -> Gemm.Sgemm(false, false, 3, -3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    // Stored transposed, A is [k,m] (lda >= m) and B is [n,k] (ldb >= k); untransposed B is [k,n] (ldb >= n).
    throwsNaming "lda" (fun () -> Gemm.Sgemm(true, false, 3, 3, 3, 1.0f, ReadOnlySpan a, 2, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    let e = Assert.Throws<ArgumentException>(fun () -> Gemm.Sgemm(true, false, 4, 3, 3, 1.0f, ReadOnlySpan a, 5, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    Assert.StartsWith("a is too short for a 3×4 matrix with leading dimension 5: expected at least 14 elements, got 12.", e.Message)
    throwsNaming "ldb" (fun () -> Gemm.Sgemm(false, false, 3, 3, 3, 1.0f, ReadOnlySpan a, 3, ReadOnlySpan b, 2, 0.0f, Span c, 3))
    throwsNaming "ldb" (fun () -> Gemm.Sgemm(false, true, 3, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3))
    let e = Assert.Throws<ArgumentException>(fun () -> Gemm.Sgemm(false, true, 2, 3, 5, 1.0f, ReadOnlySpan a, 5, ReadOnlySpan b, 5, 0.0f, Span c, 3))
    Assert.StartsWith("b is too short for a 3×5 matrix with leading dimension 5: expected at least 15 elements, got 12.", e.Message)
    throwsNaming "ldc" (fun () -> Gemm.Sgemm(false, false, 3, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 2))
