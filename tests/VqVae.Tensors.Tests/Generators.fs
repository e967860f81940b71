/// FsCheck generators for the tensor properties: small shapes (so that shrinking ends at readable
/// counterexamples), broadcast-compatible shape pairs, conv hyper-parameters, and random values
/// drawn from a seed carried in each case (values are a pure function of the case).
module VqVae.Tensors.Tests.Generators

open FsCheck
open FsCheck.FSharp
open VqVae.Tensors

/// Runs a property directly, throwing on the first counterexample: for teeth tests, which assert
/// that a property FAILS on broken code (the property tests themselves are [<PropertyTest>]s).
let check (maxTest: int) (arb: Arbitrary<'a>) (body: 'a -> unit) =
    Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest * VqVae.Tensors.Tests.Properties.scale), Prop.forAll arb body)

// ---------------------------------------------------------------- values

/// Uniform values in [lo, hi) from a seed (and a stream number, so one case can draw several tensors).
let uniform (seed: int) (stream: int) (lo: float32) (hi: float32) (shape: int[]) =
    Tensor.Uniform(Rng.Seed(int64 seed).Fold(int64 stream), lo, hi, shape)

/// Values with |v| in [lo, hi] and a random sign: keeps inputs away from the kink at 0 (relu, abs)
/// and from poles (division).
let awayFromZero (seed: int) (stream: int) (lo: float32) (hi: float32) (shape: int[]) =
    let u = (uniform seed stream -1f 1f shape).ToArray()
    let v = u |> Array.map (fun x -> (if x < 0f then -1f else 1f) * (lo + (hi - lo) * abs x))
    Tensor.FromArray(v, shape)

/// Values in [lo, hi] that keep at least `gap` away from each of the given points (clamp bounds).
let avoiding (seed: int) (stream: int) (lo: float32) (hi: float32) (points: float32 list) (gap: float32) (shape: int[]) =
    let rng = Rng.Seed(int64 seed).Fold(int64 stream)
    let n = shape |> Array.fold (*) 1
    let v =
        Array.init n (fun i ->
            // redraw from a per-element counter until the value is clear of every point
            let mutable k = 0L
            let mutable x = lo + (hi - lo) * rng.UniformAt(int64 i)
            while points |> List.exists (fun p -> abs (x - p) < gap) do
                k <- k + 1L
                x <- lo + (hi - lo) * rng.Fold(k).UniformAt(int64 i)
            x)
    Tensor.FromArray(v, shape)

// ---------------------------------------------------------------- shapes

let private genSeed = Gen.choose (0, 1_000_000)

/// Shapes of rank minRank..maxRank with dimensions 1..maxDim.
let genShape minRank maxRank maxDim =
    gen {
        let! r = Gen.choose (minRank, maxRank)
        return! Gen.arrayOfLength r (Gen.choose (1, maxDim))
    }

/// Smaller versions of a shape: one dimension decreased, or the leading dimension dropped.
let shrinkShape (minRank: int) (s: int[]) =
    seq {
        if s.Length > minRank then yield s[1..]
        for i in 0 .. s.Length - 1 do
            if s[i] > 1 then yield Array.updateAt i (s[i] - 1) s
    }

/// One tensor shape plus a value seed.
type ShapeCase = { Shape: int[]; Seed: int }

let shapeCase minRank maxRank maxDim =
    let g = gen {
        let! s = genShape minRank maxRank maxDim
        let! seed = genSeed
        return { Shape = s; Seed = seed } }
    Arb.fromGenShrink (g, fun c -> shrinkShape minRank c.Shape |> Seq.map (fun s -> { c with Shape = s }))

/// Two shapes that broadcast together (NumPy rules), plus a value seed.
type PairCase = { A: int[]; B: int[]; Seed: int }

let private broadcastable (a: int[]) (b: int[]) =
    let r = max a.Length b.Length
    let at (s: int[]) i = if i < r - s.Length then 1 else s[i - (r - s.Length)]
    Seq.forall (fun i -> let x, y = at a i, at b i in x = y || x = 1 || y = 1) (seq { 0 .. r - 1 })

let pairCase =
    // A broadcast output shape; each operand keeps a suffix of it with some dimensions set to 1.
    let operand (o: int[]) =
        gen {
            let! keep = Gen.choose (0, o.Length)
            let suffix = o[o.Length - keep ..]
            let! ones = Gen.arrayOfLength keep (Gen.frequency [ 1, Gen.constant true; 2, Gen.constant false ])
            return Array.map2 (fun d one -> if one then 1 else d) suffix ones
        }
    let g = gen {
        let! o = genShape 0 4 3
        let! a = operand o
        let! b = operand o
        let! swap = Gen.elements [ false; true ]
        // often give one operand the full shape, so the result is not always smaller than both
        let a = if swap then a else o
        let! seed = genSeed
        return { A = a; B = b; Seed = seed } }
    let shrink c =
        seq {
            for a in shrinkShape 0 c.A do yield { c with A = a }
            for b in shrinkShape 0 c.B do yield { c with B = b }
            // decrease dimensions that are aligned in both
            let r = min c.A.Length c.B.Length
            for k in 1 .. r do
                let i, j = c.A.Length - k, c.B.Length - k
                if c.A[i] > 1 && c.A[i] = c.B[j] then
                    yield { c with A = Array.updateAt i (c.A[i] - 1) c.A; B = Array.updateAt j (c.B[j] - 1) c.B }
        } |> Seq.filter (fun c -> broadcastable c.A c.B)
    Arb.fromGenShrink (g, shrink)

/// A shape and a list of distinct dimensions of it (possibly negative), plus keepDim.
type DimsCase = { Shape: int[]; Dims: int[]; KeepDim: bool; Seed: int }

let dimsCase =
    let g = gen {
        let! s = genShape 1 4 3
        let! dims = Gen.subListOf [ 0 .. s.Length - 1 ]
        let! dims = Gen.shuffle (List.toArray dims)
        let! neg = Gen.arrayOfLength dims.Length (Gen.elements [ false; true ])
        let dims = Array.map2 (fun d n -> if n then d - s.Length else d) dims neg
        let! keep = Gen.elements [ false; true ]
        let! seed = genSeed
        return { Shape = s; Dims = dims; KeepDim = keep; Seed = seed } }
    let shrink (c: DimsCase) =
        seq {
            for i in 0 .. c.Shape.Length - 1 do
                if c.Shape[i] > 1 then yield { c with Shape = Array.updateAt i (c.Shape[i] - 1) c.Shape }
            for i in 0 .. c.Dims.Length - 1 do yield { c with Dims = Array.removeAt i c.Dims }
        }
    Arb.fromGenShrink (g, shrink)

// ---------------------------------------------------------------- convolutions

/// A conv2d problem: input [N,Cin,H,W], weight [Cout,Cin,Kh,Kw], and the hyper-parameters.
type ConvCase =
    { N: int; Cin: int; Cout: int; H: int; W: int; Kh: int; Kw: int
      Sh: int; Sw: int; Ph: int; Pw: int; Dh: int; Dw: int; Bias: bool; Seed: int }
    member c.Ho = (c.H + 2 * c.Ph - c.Dh * (c.Kh - 1) - 1) / c.Sh + 1
    member c.Wo = (c.W + 2 * c.Pw - c.Dw * (c.Kw - 1) - 1) / c.Sw + 1
    member c.Valid =
        List.forall (fun v -> v >= 1) [ c.N; c.Cin; c.Cout; c.H; c.W; c.Kh; c.Kw; c.Sh; c.Sw; c.Dh; c.Dw ]
        && c.Ph >= 0 && c.Pw >= 0
        && c.H + 2 * c.Ph - c.Dh * (c.Kh - 1) - 1 >= 0
        && c.W + 2 * c.Pw - c.Dw * (c.Kw - 1) - 1 >= 0

/// Smaller versions of a record of small ints: each field decreased by one (the caller filters validity).
let private shrinkFields (fields: int list) (rebuild: int list -> 'a) =
    seq {
        for i in 0 .. fields.Length - 1 do
            if fields[i] > 0 then yield rebuild (List.updateAt i (fields[i] - 1) fields)
    }

let convCase =
    let g = gen {
        let! n = Gen.choose (1, 2)
        let! cin = Gen.choose (1, 3)
        let! cout = Gen.choose (1, 3)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! sh = Gen.choose (1, 3)
        let! sw = Gen.choose (1, 3)
        let! ph = Gen.choose (0, 2)
        let! pw = Gen.choose (0, 2)
        let! dh = Gen.choose (1, 2)
        let! dw = Gen.choose (1, 2)
        // smallest input the dilated kernel fits in, then a few more rows/columns
        let! eh = Gen.choose (0, 4)
        let! ew = Gen.choose (0, 4)
        let h = max 1 (dh * (kh - 1) + 1 - 2 * ph) + eh
        let w = max 1 (dw * (kw - 1) + 1 - 2 * pw) + ew
        let! bias = Gen.elements [ false; true ]
        let! seed = genSeed
        return { N = n; Cin = cin; Cout = cout; H = h; W = w; Kh = kh; Kw = kw; Sh = sh; Sw = sw
                 Ph = ph; Pw = pw; Dh = dh; Dw = dw; Bias = bias; Seed = seed } }
    let shrink (c: ConvCase) =
        let fields = [ c.N; c.Cin; c.Cout; c.H; c.W; c.Kh; c.Kw; c.Sh; c.Sw; c.Ph; c.Pw; c.Dh; c.Dw ]
        let rebuild = function
            | [ n; cin; cout; h; w; kh; kw; sh; sw; ph; pw; dh; dw ] ->
                { c with N = n; Cin = cin; Cout = cout; H = h; W = w; Kh = kh; Kw = kw; Sh = sh; Sw = sw
                         Ph = ph; Pw = pw; Dh = dh; Dw = dw }
            | _ -> c
        Seq.append (if c.Bias then Seq.singleton { c with Bias = false } else Seq.empty) (shrinkFields fields rebuild)
        |> Seq.filter (fun c -> c.Valid)
    Arb.fromGenShrink (g, shrink)

/// A transposed-conv problem: input [N,Cin,H,W], weight [Cin,Cout,Kh,Kw], hyper-parameters and output padding.
type ConvTCase =
    { N: int; Cin: int; Cout: int; H: int; W: int; Kh: int; Kw: int
      Sh: int; Sw: int; Ph: int; Pw: int; Oph: int; Opw: int; Dh: int; Dw: int; Bias: bool; Seed: int }
    member c.Ho = (c.H - 1) * c.Sh - 2 * c.Ph + c.Dh * (c.Kh - 1) + c.Oph + 1
    member c.Wo = (c.W - 1) * c.Sw - 2 * c.Pw + c.Dw * (c.Kw - 1) + c.Opw + 1
    member c.Valid =
        List.forall (fun v -> v >= 1) [ c.N; c.Cin; c.Cout; c.H; c.W; c.Kh; c.Kw; c.Sh; c.Sw; c.Dh; c.Dw ]
        && c.Ph >= 0 && c.Pw >= 0 && c.Oph >= 0 && c.Opw >= 0
        && c.Oph < max c.Sh c.Dh && c.Opw < max c.Sw c.Dw
        && c.Ho >= 1 && c.Wo >= 1

let convTCase =
    let g = gen {
        let! n = Gen.choose (1, 2)
        let! cin = Gen.choose (1, 3)
        let! cout = Gen.choose (1, 3)
        let! h = Gen.choose (1, 4)
        let! w = Gen.choose (1, 4)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! sh = Gen.choose (1, 3)
        let! sw = Gen.choose (1, 3)
        let! ph = Gen.choose (0, 2)
        let! pw = Gen.choose (0, 2)
        let! dh = Gen.choose (1, 2)
        let! dw = Gen.choose (1, 2)
        let! oph = Gen.choose (0, max sh dh - 1)
        let! opw = Gen.choose (0, max sw dw - 1)
        let! bias = Gen.elements [ false; true ]
        let! seed = genSeed
        return { N = n; Cin = cin; Cout = cout; H = h; W = w; Kh = kh; Kw = kw; Sh = sh; Sw = sw
                 Ph = ph; Pw = pw; Oph = oph; Opw = opw; Dh = dh; Dw = dw; Bias = bias; Seed = seed } }
    let shrink (c: ConvTCase) =
        let fields = [ c.N; c.Cin; c.Cout; c.H; c.W; c.Kh; c.Kw; c.Sh; c.Sw; c.Ph; c.Pw; c.Oph; c.Opw; c.Dh; c.Dw ]
        let rebuild = function
            | [ n; cin; cout; h; w; kh; kw; sh; sw; ph; pw; oph; opw; dh; dw ] ->
                { c with N = n; Cin = cin; Cout = cout; H = h; W = w; Kh = kh; Kw = kw; Sh = sh; Sw = sw
                         Ph = ph; Pw = pw; Oph = oph; Opw = opw; Dh = dh; Dw = dw }
            | _ -> c
        Seq.append (if c.Bias then Seq.singleton { c with Bias = false } else Seq.empty) (shrinkFields fields rebuild)
        |> Seq.filter (fun c -> c.Valid)
    Arb.fromGenShrink (Gen.filter (fun (c: ConvTCase) -> c.Valid) g, shrink)

// ---------------------------------------------------------------- gather

/// A [K,D] table and M row indices into it (repeats likely: M is often larger than K).
type GatherCase = { K: int; D: int; Indices: int[]; Seed: int }

let gatherCase =
    let g = gen {
        let! k = Gen.choose (1, 5)
        let! d = Gen.choose (1, 4)
        let! m = Gen.choose (0, 9)
        let! idx = Gen.arrayOfLength m (Gen.choose (0, k - 1))
        let! seed = genSeed
        return { K = k; D = d; Indices = idx; Seed = seed } }
    let shrink c =
        seq {
            for i in 0 .. c.Indices.Length - 1 do yield { c with Indices = Array.removeAt i c.Indices }
            if c.D > 1 then yield { c with D = c.D - 1 }
            if c.K > 1 && (c.Indices |> Array.forall (fun i -> i < c.K - 1)) then yield { c with K = c.K - 1 }
        }
    Arb.fromGenShrink (g, shrink)

// ---------------------------------------------------------------- matmul, permute

/// Sizes of op(a)[m,k]·op(b)[k,n].
type MatCase = { M: int; K: int; N: int; TransA: bool; TransB: bool; Seed: int }

let matCase =
    let g = gen {
        let! m = Gen.choose (1, 5)
        let! k = Gen.choose (1, 5)
        let! n = Gen.choose (1, 5)
        let! ta = Gen.elements [ false; true ]
        let! tb = Gen.elements [ false; true ]
        let! seed = Gen.choose (0, 1000000)
        return { M = m; K = k; N = n; TransA = ta; TransB = tb; Seed = seed } }
    Arb.fromGenShrink (g, fun c ->
        seq {
            if c.M > 1 then yield { c with M = c.M - 1 }
            if c.K > 1 then yield { c with K = c.K - 1 }
            if c.N > 1 then yield { c with N = c.N - 1 }
        })

/// A shape and a permutation of its dimensions.
type PermCase = { Shape: int[]; Perm: int[]; Seed: int }

let permCase =
    let g = gen {
        let! s = genShape 1 4 4
        let! p = Gen.shuffle [| 0 .. s.Length - 1 |]
        let! seed = Gen.choose (0, 1000000)
        return { Shape = s; Perm = p; Seed = seed } }
    Arb.fromGenShrink (g, fun c ->
        seq { for i in 0 .. c.Shape.Length - 1 do if c.Shape[i] > 1 then yield { c with Shape = Array.updateAt i (c.Shape[i] - 1) c.Shape } })

// ---------------------------------------------------------------- registrations

/// The generators above as FsCheck Arbitrary instances, registered for every property of this
/// assembly (below): a property takes its case by type. ShapeCase has several sizes; the
/// default is rank 0–3 with dimensions up to 3, and a property picks another from Shapes.
type Arbs =
    static member Shape() = shapeCase 0 3 3
    static member Pair() = pairCase
    static member Dims() = dimsCase
    static member Conv() = convCase
    static member ConvT() = convTCase
    static member Gather() = gatherCase
    static member Mat() = matCase
    static member Perm() = permCase
    static member Nearest() = Arb.fromGen KernelsNearest.caseGen
    static member Gemm() = Arb.fromGen KernelsGemm.gemmCase
    static member ConvKernel() = Arb.fromGen KernelsConv.caseGen

/// Other sizes of ShapeCase (rank range, largest dimension), for a property's own Arbitrary list.
module Shapes =
    type Rank0to4 = static member Shape() = shapeCase 0 4 3
    type Rank1to4 = static member Shape() = shapeCase 1 4 3
    type Rank1to4Dim4 = static member Shape() = shapeCase 1 4 4
    type Rank2Dim4 = static member Shape() = shapeCase 2 2 4
    type Rank2to4Dim4 = static member Shape() = shapeCase 2 4 4
    type Rank3Dim4 = static member Shape() = shapeCase 3 3 4
    type Rank4Dim4 = static member Shape() = shapeCase 4 4 4

[<assembly: FsCheck.Xunit.Properties(Arbitrary = [| typeof<Arbs> |])>]
do ()
