module VqVae.Functional.Tests.EmaTests

open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Codebooks
open VqVae.Functional.Tests.TrainingHelpers
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

/// Random EMA case: K codes of dim D, N rows, indices that leave some codes unused.
let private case seed =
    let rng = Rng.Seed(int64 seed)
    let k, d, n = 2 + seed % 6, 1 + seed % 4, 1 + seed % 17
    let used = 1 + seed % k // rows only go to codes < used, so codes ≥ used are unused
    let stats = EmaState(tensor (rng.Fold 1L) 0f 5f [| k |], tensor (rng.Fold 2L) -3f 3f [| k; d |])
    let codebook = tensor (rng.Fold 3L) -1f 1f [| k; d |]
    let rows = tensor (rng.Fold 4L) -2f 2f [| n; d |]
    let indices = Array.init n (fun i -> (rng.Fold 5L).IntAt(int64 i, used))
    rng, k, d, stats, codebook, rows, indices

[<PropertyTest(100)>]
let ``EMA cluster sizes, sums and codes follow the formula`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng, k, d, stats, codebook, rows, idx = case seed
        let gamma = float (rng.UniformAt 7L) * 0.999
        let eps = 10.0 ** (-5.0 + 4.0 * float (rng.UniformAt 8L))
        let struct (s', e') = Ema.Update(stats, codebook, rows, idx, float32 gamma, float32 eps)
        let n0, m0, z = stats.ClusterSize.ToArray(), stats.EmaW.ToArray(), rows.ToArray()
        let cnt = Array.init k (fun c -> idx |> Array.filter ((=) c) |> Array.length |> float)
        let sum = Array.init (k * d) (fun j -> idx |> Array.mapi (fun i c -> if c = j / d then float z[i * d + j % d] else 0.0) |> Array.sum)
        let n = Array.init k (fun c -> gamma * float n0[c] + (1.0 - gamma) * cnt[c])
        let m = Array.init (k * d) (fun j -> gamma * float m0[j] + (1.0 - gamma) * sum[j])
        let total = Array.sum n
        let smooth = n |> Array.map (fun x -> (x + eps) / (total + float k * eps) * total)
        let e = Array.init (k * d) (fun j -> m[j] / smooth[j / d])
        Assert.True(maxAbsDiff (s'.ClusterSize.ToArray()) n < 1e-5 * (1.0 + total))
        Assert.True(maxAbsDiff (s'.EmaW.ToArray()) m < 1e-4)
        let scale = e |> Array.fold (fun a x -> max a (abs x)) 1.0
        Assert.True(maxAbsDiff (e'.ToArray()) e < 1e-4 * scale, $"codes differ by {maxAbsDiff (e'.ToArray()) e} (scale {scale})"))

[<PropertyTest(100)>]
let ``with decay 0 and a tiny epsilon each used code is the mean of its rows`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let _, k, d, stats, codebook, rows, idx = case seed
        let struct (_, e') = Ema.Update(stats, codebook, rows, idx, 0f, 1e-12f)
        let z, e = rows.ToArray(), e'.ToArray()
        for c in Array.distinct idx do
            let mine = idx |> Array.indexed |> Array.filter (fun (_, j) -> j = c) |> Array.map fst
            for t in 0 .. d - 1 do
                let mean = mine |> Array.averageBy (fun i -> float z[i * d + t])
                Assert.True(abs (float e[c * d + t] - mean) < 1e-5, $"code {c}: {e[c * d + t]} vs mean {mean}"))

[<PropertyTest(100)>]
let ``statistics of unused codes decay by gamma and nothing else`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng, k, d, stats, codebook, rows, idx = case seed
        let gamma = 0.5f + 0.49f * rng.UniformAt 9L
        let struct (s', _) = Ema.Update(stats, codebook, rows, idx, gamma, 1e-5f)
        for c in 0 .. k - 1 do
            if not (Array.contains c idx) then
                Assert.Equal(stats.ClusterSize.ToArray()[c] * gamma, s'.ClusterSize.ToArray()[c], 5)
                for t in 0 .. d - 1 do
                    Assert.Equal(stats.EmaW.ToArray()[c * d + t] * gamma, s'.EmaW.ToArray()[c * d + t], 5))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the EMA update records no gradient and checks shapes`` (backend: string) = onBackend backend <| fun () ->
    let _, k, d, stats, codebook, rows, idx = case 12345
    let struct (s', e') = Ema.Update(stats, codebook, rows, idx, 0.99f, 1e-5f)
    Assert.False(e'.IsTracked || s'.ClusterSize.IsTracked || s'.EmaW.IsTracked)
    let e = Assert.Throws<System.ArgumentException>(fun () -> Ema.Update(stats, codebook, rows, Array.take 0 idx, 0.99f, 1e-5f) |> ignore)
    Assert.Contains("indices", e.Message)
    let e = Assert.Throws<System.ArgumentException>(fun () -> Ema.Update(stats, Tensor.Zeros(k + 1, d), rows, idx, 0.99f, 1e-5f) |> ignore)
    Assert.Contains("statistics", e.Message)

/// The settings and shapes Ema.Update accepts and refuses, each at its boundary, with the argument
/// named (found unguarded by mutation testing: no test told `decay < 1` from `decay <= 1`, nor
/// the cluster-size check from the sums check).
[<Fact>]
let ``the EMA update accepts decay in [0, 1) and epsilon in (0, inf), and refuses each bad setting and shape by name`` () =
    let _, k, d, stats, codebook, rows, idx = case 777
    let ok decay eps = Ema.Update(stats, codebook, rows, idx, decay, eps) |> ignore
    let refused (arg: string) (f: unit -> unit) = refusedNaming arg [ "emaUpdate" ] f |> ignore
    // Accepted at the edges: decay 0 and just below 1, the smallest positive epsilon.
    ok 0f 1e-5f
    ok (System.MathF.BitDecrement 1f) 1e-5f
    ok 0.99f System.Single.Epsilon
    ok 0.99f System.Single.MaxValue
    // Refused: decay 1, above 1, below 0, NaN; epsilon 0, negative, infinite, NaN.
    for decay in [ 1f; 1.5f; -1e-7f; nanf; infinityf; -infinityf ] do
        refused "decay" (fun () -> ok decay 1e-5f)
    for eps in [ 0f; -0f; -1e-5f; infinityf; -infinityf; nanf ] do
        refused "epsilon" (fun () -> ok 0.99f eps)
    // Shapes: a codebook that is not [K,D]; cluster sizes and sums each checked on their own; rows; indices.
    refused "codebook" (fun () -> Ema.Update(stats, Tensor.Zeros(k * d), rows, idx, 0.99f, 1e-5f) |> ignore)
    refused "state" (fun () -> Ema.Update(EmaState(Tensor.Zeros(k + 1), stats.EmaW), codebook, rows, idx, 0.99f, 1e-5f) |> ignore)
    refused "state" (fun () -> Ema.Update(EmaState(stats.ClusterSize, Tensor.Zeros(k, d + 1)), codebook, rows, idx, 0.99f, 1e-5f) |> ignore)
    refused "state" (fun () -> Ema.Update(EmaState(stats.ClusterSize, Tensor.Zeros(k + 1, d)), codebook, rows, idx, 0.99f, 1e-5f) |> ignore)
    refused "rows" (fun () -> Ema.Update(stats, codebook, Tensor.Zeros(rows.Shape[0], d + 1), idx, 0.99f, 1e-5f) |> ignore)
    refused "rows" (fun () -> Ema.Update(stats, codebook, Tensor.Zeros(rows.Shape[0] * d), idx, 0.99f, 1e-5f) |> ignore)
    refused "indices" (fun () -> Ema.Update(stats, codebook, rows, Array.append idx [| 0 |], 0.99f, 1e-5f) |> ignore)
    // Each message shows the shape it got, dimensions comma-separated.
    let says (arg: string) (text: string) (f: unit -> unit) = refusedNaming arg [ text ] f |> ignore
    says "codebook" $"got [{k},{d},1]" (fun () -> Ema.Update(stats, Tensor.Zeros(k, d, 1), rows, idx, 0.99f, 1e-5f) |> ignore)
    says "state" $"got [{k},1] and [{k},{d}]" (fun () -> Ema.Update(EmaState(Tensor.Zeros(k, 1), stats.EmaW), codebook, rows, idx, 0.99f, 1e-5f) |> ignore)
    says "rows" $"got [{rows.Shape[0]},{d + 1}]" (fun () -> Ema.Update(stats, codebook, Tensor.Zeros(rows.Shape[0], d + 1), idx, 0.99f, 1e-5f) |> ignore)
    // The starting statistics need a [K,D] codebook too.
    says "codebook" $"ema: codebook must be [K,D], got [{k * d}]" (fun () -> Ema.UnitCounts(Tensor.Zeros(k * d)) |> ignore)
    says "codebook" $"got [{k},{d},1]" (fun () -> Ema.UnitCounts(Tensor.Zeros(k, d, 1)) |> ignore)
