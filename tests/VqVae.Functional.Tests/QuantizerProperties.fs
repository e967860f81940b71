/// Quantizer properties (DESIGN §4, §8) as functions of the quantizer implementation, so that
/// TeethTests can run them against a wrong one.
module VqVae.Functional.Tests.QuantizerProperties

open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.RoutingProperties

/// A codebook [K,D] and latents [B,D,H,W] with normal values.
type QuantizerCase =
    { K: int; D: int; B: int; H: int; W: int; Seed: int64 }
    member c.Codebook = Tensor.Normal(Rng.Seed(c.Seed).Fold 1L, 0.0f, 1.0f, c.K, c.D)
    member c.Latents = Tensor.Normal(Rng.Seed(c.Seed).Fold 2L, 0.0f, 1.0f, c.B, c.D, c.H, c.W)

let genQuantizerCase minK =
    gen {
        let! k = Gen.choose (minK, 16)
        let! d = Gen.choose (1, 4)
        let! b = Gen.choose (1, 2)
        let! h = Gen.choose (1, 3)
        let! w = Gen.choose (1, 3)
        let! s = Gen.choose (0, 1_000_000)
        return { K = k; D = d; B = b; H = h; W = w; Seed = int64 s }
    }

/// A quantizer case whose codebook is k0 distinct codes plus five copies of them, shuffled.
type TieCase = { Case: QuantizerCase; Distinct: int; Copies: int list; Order: int[] }

let genTieCase =
    gen {
        let! c = genQuantizerCase 1
        let! k0 = Gen.choose (1, 3)
        let! copies = Gen.listOfLength 5 (Gen.choose (0, k0 - 1))
        let! order = Gen.shuffle [| 0 .. k0 + copies.Length - 1 |]
        return { Case = c; Distinct = k0; Copies = copies; Order = order }
    }

/// The generators above as Arbitrary instances for a property's own Arbitrary list.
type QuantizerCases = static member Case() = Arb.fromGen (genQuantizerCase 1)
type QuantizerCasesK2 = static member Case() = Arb.fromGen (genQuantizerCase 2)
type TieCases = static member Case() = Arb.fromGen genTieCase

/// Channel-last rows [B·H·W][D] of a [B,D,H,W] tensor, in double.
let rowsOf (ze: Tensor) =
    let s = ze.Shape
    let b, d, h, w = s[0], s[1], s[2], s[3]
    [| for bi in 0 .. b - 1 do
         for hi in 0 .. h - 1 do
           for wi in 0 .. w - 1 -> Array.init d (fun di -> float ze[bi, di, hi, wi]) |]

let codesOf (cb: Tensor) =
    let s = cb.Shape
    Array.init s[0] (fun k -> Array.init s[1] (fun j -> float cb[k, j]))

let sqDist (a: float[]) (b: float[]) = Array.fold2 (fun s x y -> s + (x - y) * (x - y)) 0.0 a b

/// Every position gets a nearest code by brute force in double (up to float32 rounding of the
/// fused ‖z‖²+‖e‖²−2z·e: 1e-5 of ‖z‖²+max‖e‖²), and z_q holds exactly that code.
let quantizePicksTheNearestCode (quantize: QuantizeFn) (c: QuantizerCase) =
    let cb, ze = c.Codebook, c.Latents
    let q = quantize cb ze
    let codes, rows = codesOf cb, rowsOf ze
    let idx = q.Indices.ToArray()
    let maxE = codes |> Array.map (fun e -> sqDist e (Array.zeroCreate e.Length)) |> Array.max
    let bad =
        rows |> Array.mapi (fun i z ->
            let best = codes |> Array.map (sqDist z) |> Array.min
            let tol = 1e-5 * (sqDist z (Array.zeroCreate z.Length) + maxE)
            if sqDist z codes[idx[i]] <= best + tol then None else Some i)
        |> Array.choose id
    bad.Length = 0 |> Prop.label (sprintf "rows with a farther code than the nearest: %A" bad)

/// Duplicate codes tie exactly; the quantizer must pick the lowest index among equal codes.
let quantizeBreaksTiesToTheLowestIndex (quantize: QuantizeFn) (t: TieCase) =
    let c, k0, copies, order = t.Case, t.Distinct, t.Copies, t.Order
    let baseCodes = codesOf (Tensor.Normal(Rng.Seed c.Seed, 0.0f, 1.0f, k0, c.D))
    let all = Array.append baseCodes (copies |> List.map (fun j -> baseCodes[j]) |> Array.ofList)
    let shuffled = order |> Array.map (fun i -> all[i])
    let cb = Tensor.FromArray(shuffled |> Array.concat |> Array.map float32, shuffled.Length, c.D)
    let q = quantize cb c.Latents
    let lowest k = shuffled |> Array.findIndex (fun e -> e = shuffled[k])
    let idx = q.Indices.ToArray()
    idx |> Array.forall (fun k -> k = lowest k) |> Prop.label (sprintf "indices %A" idx)

/// z_q holds exactly the chosen codes, and the decoder input's values equal z_q up to the rounding
/// of z_e + (z_q − z_e) (1e-6 of the largest magnitude).
let decoderInputEqualsTheChosenCodes (quantize: QuantizeFn) (c: QuantizerCase) =
    let cb, ze = c.Codebook, c.Latents
    let q = quantize cb ze
    let codes = codesOf cb
    let zqRows = rowsOf q.ZQ
    let exact = q.Indices.ToArray() |> Array.mapi (fun i k -> zqRows[i] = codes[k]) |> Array.forall id
    let scale = max (maxAbs (ze.ToArray())) (maxAbs (q.ZQ.ToArray()))
    let dec = maxAbsDiff (q.DecoderInput.ToArray()) (q.ZQ.ToArray())
    (exact && dec <= 1e-6 * scale) |> Prop.label (sprintf "z_q rows are the codes: %b; max |decoder input − z_q| = %g (scale %g)" exact dec scale)
