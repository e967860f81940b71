/// The kernels' shared argument checks (Backends/Cpu/Checks.cs) by their whole messages: each names the
/// argument, the rule and the value, at the bounds where they start to refuse.
module VqVae.Tensors.Tests.KernelChecksTests

open System
open Xunit
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.Refusals

/// `f` (a check returning nothing) refuses with an ArgumentException named `name` whose message starts with `text`.
let private refused name text (f: unit -> unit) = refusedAs<ArgumentException> name text (fun () -> f (); obj ()) |> ignore

[<Fact>]
let ``counts, leading dimensions and lengths are refused in whole sentences, and accepted at their bounds`` () =
    refused "m" "m must be non-negative; got -1." (fun () -> Checks.NonNegative(-1, "m"))
    Checks.NonNegative(0, "m")
    refused "k" "k must be at least 1; got 0." (fun () -> Checks.Positive(0, "k"))
    Checks.Positive(1, "k")
    // The leading dimension is at least the row length, and at least 1 for an empty row.
    refused "lda" "lda must be at least 4 (the stored row length of a); got 3." (fun () -> Checks.Matrix(100, 2, 4, 3, "a", "lda"))
    refused "lda" "lda must be at least 1 (the stored row length of a); got 0." (fun () -> Checks.Matrix(100, 2, 0, 0, "a", "lda"))
    // (rows − 1)·ld + cols elements: 3 rows of 4 with ld 5 need 14.
    refused "a" "a is too short for a 3×4 matrix with leading dimension 5: expected at least 14 elements, got 13." (fun () -> Checks.Matrix(13, 3, 4, 5, "a", "lda"))
    Checks.Matrix(14, 3, 4, 5, "a", "lda")
    Checks.Matrix(0, 0, 4, 4, "a", "lda")
    Checks.Matrix(0, 3, 0, 1, "a", "lda")
    refused "z" "z is too short for 2 rows of 3: expected at least 6 elements, got 5." (fun () -> Checks.Length(5, 6L, "z", "2 rows of 3"))
    Checks.Length(6, 6L, "z", "2 rows of 3")

[<Fact>]
let ``the nearest-code search refuses bad sizes, short spans, an empty codebook and a NaN, each by name`` () =
    let search (z: float32[]) n d (c: float32[]) k (idx: int[]) () = NearestCode.Argmin(ReadOnlySpan z, n, d, ReadOnlySpan c, k, Span idx)
    let z, c = Array.create 6 1f, Array.create 4 0f
    refused "n" "n must be non-negative; got -1." (search z -1 3 c 2 (Array.zeroCreate 2))
    refused "d" "d must be non-negative; got -1." (search z 2 -1 c 2 (Array.zeroCreate 2))
    refused "k" "k must be non-negative; got -1." (search z 2 3 c -1 (Array.zeroCreate 2))
    refused "z" "z is too short for 3 rows of 3: expected at least 9 elements, got 6." (search z 3 3 c 2 (Array.zeroCreate 3))
    refused "codebook" "codebook is too short for 2 codes of 3: expected at least 6 elements, got 4." (search z 2 3 c 2 (Array.zeroCreate 2))
    refused "indices" "indices is too short for 2 rows: expected at least 2 elements, got 1." (search z 2 3 (Array.create 6 0f) 2 (Array.zeroCreate 1))
    refused "k" "The codebook must have at least one code to search (k = 0) for 2 rows." (search z 2 3 [||] 0 (Array.zeroCreate 2))
    let withNaN = Array.init 9 (fun i -> if i = 7 then nanf else 0f)
    refused "z" "z holds NaN at element 7 (row 2); nearest codes are undefined." (search withNaN 3 3 (Array.create 6 0f) 2 (Array.zeroCreate 3))
    // The first element too: the search's "found" test is index ≥ 0, not > 0.
    refused "z" "z holds NaN at element 0 (row 0); nearest codes are undefined." (search (Array.init 9 (fun i -> if i = 0 then nanf else 0f)) 3 3 (Array.create 6 0f) 2 (Array.zeroCreate 3))
    // No rows: nothing to search, even with no codes; the indices are left alone.
    let untouched = [| 5 |]
    search [||] 0 3 [||] 0 untouched ()
    Assert.Equal<int[]>([| 5 |], untouched)
