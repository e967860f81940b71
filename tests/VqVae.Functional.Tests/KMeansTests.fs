module VqVae.Functional.Tests.KMeansTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Codebooks
open VqVae.Functional.Tests.TrainingHelpers
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

/// n rows in `blobs` tight clusters around well-separated centres.
let private blobData (rng: Rng) blobs n d =
    let centres = tensor (rng.Fold 1L) -10f 10f [| blobs; d |] |> fun t -> t.ToArray()
    let noise = rng.Fold(2L).Normal(n * d, 0f, 0.1f)
    Tensor.FromArray(Array.init (n * d) (fun j -> centres[(j / d % blobs) * d + j % d] + noise[j]), n, d)

[<PropertyTest(60)>]
let ``k-means is deterministic per seed and Lloyd never increases the inertia of its seeding`` () =
    Prop.forAll seeds (fun seed ->
        let rng = Rng.Seed(int64 seed)
        let n, d = 10 + seed % 40, 1 + seed % 4
        let k = 1 + seed % 10
        let rows = tensor (rng.Fold 1L) -1f 1f [| n; d |]
        let a = KMeans.Init(rows, k, rng.Fold 2L, 5)
        let b = KMeans.Init(rows, k, rng.Fold 2L, 5)
        Assert.Equal<float32[]>(a.ToArray(), b.ToArray())
        Assert.Equal<int[]>([| k; d |], a.Shape)
        let seeded = KMeans.Seed(rows, k, rng.Fold 2L)
        let i0 = KMeans.Inertia(rows, seeded)
        let i1 = KMeans.Inertia(rows, a)
        Assert.True(i1 <= i0 * (1.0 + 1e-6) + 1e-9, $"inertia {i0} → {i1}"))

[<Fact>]
let ``k-means finds well-separated blobs and lowers the inertia of k-means++ seeding`` () =
    let rng = Rng.Seed 7L
    let rows = blobData rng 6 300 3
    let seeded = KMeans.Seed(rows, 6, rng.Fold 9L)
    let fitted = KMeans.Lloyd(rows, seeded, 10)
    let i0, i1 = KMeans.Inertia(rows, seeded), KMeans.Inertia(rows, fitted)
    // Within-blob variance: 300 rows · 3 dims · 0.1² = 9.
    Assert.True(i1 < 12.0, $"inertia after Lloyd {i1}")
    Assert.True(i1 < i0, $"Lloyd did not improve on its seeding: {i0} → {i1}")

[<Fact>]
let ``k-means++ seeds distinct rows and refuses fewer rows than codes`` () =
    let rows = tensor (Rng.Seed 3L) -1f 1f [| 12; 2 |]
    let seeded = KMeans.Seed(rows, 12, Rng.Seed 4L).ToArray() |> Array.chunkBySize 2
    Assert.Equal(12, (Array.distinct seeded).Length)
    let e = Assert.Throws<ArgumentException>(fun () -> KMeans.Init(rows, 13, Rng.Seed 4L) |> ignore)
    Assert.Contains("K = 13", e.Message)
    Assert.Contains("got 12", e.Message)

/// The rows 0, 1, 2, 4 on a line: with the first centre at c, k-means++ weighs row x by (x − c)².
let private lineRows () = Tensor.FromArray([| 0f; 1f; 2f; 4f |], 4, 1)

[<Fact>]
let ``k-means++ draws the first centre uniformly and each next one in proportion to its squared distance`` () =
    let xs = [| 0f; 1f; 2f; 4f |]
    let draws = Array.init 4000 (fun s -> KMeans.Seed(lineRows (), 2, Rng.Seed(int64 s)).ToArray())
    for c in xs do
        let after = draws |> Array.filter (fun p -> p[0] = c) |> Array.map (fun p -> p[1])
        let share = float after.Length / float draws.Length
        Assert.True(abs (share - 0.25) < 0.04, $"first centre {c} drawn {share:P1} of the time, expected 25%%")
        let weights = xs |> Array.map (fun x -> float ((x - c) * (x - c)))
        for x, w in Array.zip xs weights do
            let expected = w / Array.sum weights
            let seen = float (after |> Array.filter ((=) x) |> Array.length) / float after.Length
            Assert.True(abs (seen - expected) < 0.05, $"after {c}: row {x} drawn {seen:P1} of the time, expected {expected:P1}")

[<Fact>]
let ``k-means++ with every row already on a centre draws any row instead of failing`` () =
    // All rows equal: every draw after the first has total weight 0.
    let same = KMeans.Seed(Tensor.FromArray([| 3f; 3f; 3f |], 3, 1), 3, Rng.Seed 1L)
    Assert.Equal<float32[]>([| 3f; 3f; 3f |], same.ToArray())
    // Two distinct values, K = 3: the first two centres are 0 and 5, the third any of the four rows.
    let rows = Tensor.FromArray([| 0f; 0f; 5f; 5f |], 4, 1)
    let thirds = Array.init 200 (fun s -> KMeans.Seed(rows, 3, Rng.Seed(int64 s)).ToArray())
    for t in thirds do Assert.Equal<float32[]>([| 0f; 5f |], Array.sort t[0..1])
    let third = thirds |> Array.map (fun t -> t[2]) |> Array.countBy id |> Map.ofArray
    Assert.True(third.Count = 2 && third[0f] > 60 && third[5f] > 60, $"third centre drawn {third}, expected both values about equally")

[<Fact>]
let ``one Lloyd step moves each centre to the mean of its rows and leaves an empty cluster where it was`` () =
    let rows = Tensor.FromArray([| 0f; 0f; 1f; 2f; 10f; 10f; 11f; 12f |], 4, 2)
    let centres = Tensor.FromArray([| 0.5f; 0.5f; 10f; 10f; 100f; -100f |], 3, 2)
    Assert.Equal<float32[]>([| 0.5f; 1f; 10.5f; 11f; 100f; -100f |], KMeans.Lloyd(rows, centres, 1).ToArray())
    Assert.Equal<float32[]>(centres.ToArray(), KMeans.Lloyd(rows, centres, 0).ToArray())
    // A second step finds the same clusters: the centres stay.
    Assert.Equal<float32[]>([| 0.5f; 1f; 10.5f; 11f; 100f; -100f |], KMeans.Lloyd(rows, centres, 2).ToArray())

[<Fact>]
let ``k-means names the argument, the expected and the actual shape or value of bad input`` () =
    let rows = tensor (Rng.Seed 1L) -1f 1f [| 4; 2 |]
    let bad (arg: string) (parts: string list) (f: unit -> Tensor) = refusedNaming arg parts f |> ignore
    bad "centres" [ "centres must be [K,2], got [3,3]" ] (fun () -> KMeans.Lloyd(rows, Tensor.FromArray(Array.zeroCreate 9, 3, 3), 1))
    bad "centres" [ "centres must be [K,2], got [5]" ] (fun () -> KMeans.Lloyd(rows, Tensor.FromArray(Array.zeroCreate 5, 5), 1))
    bad "rows" [ "K = 5"; "got 4" ] (fun () -> KMeans.Lloyd(rows, Tensor.FromArray(Array.zeroCreate 10, 5, 2), 1))
    bad "iterations" [ "iterations must be ≥ 0" ] (fun () -> KMeans.Lloyd(rows, rows, -1))
    bad "rows" [ "rows must be [N,D] with D ≥ 1, got [4]" ] (fun () -> KMeans.Seed(Tensor.FromArray(Array.zeroCreate 4, 4), 1, Rng.Seed 1L))
    bad "rows" [ "rows must be [N,D] with D ≥ 1, got [3,0]" ] (fun () -> KMeans.Init(Tensor.FromArray(Array.zeroCreate 0, 3, 0), 1, Rng.Seed 1L))
    bad "k" [ "K must be ≥ 1" ] (fun () -> KMeans.Seed(rows, 0, Rng.Seed 1L))
    for v in [ nanf; infinityf; -infinityf ] do
        let x = rows.ToArray() |> Array.mapi (fun i a -> if i = 5 then v else a)
        bad "rows" [ "rows hold NaN or infinity" ] (fun () -> KMeans.Init(Tensor.FromArray(x, 4, 2), 2, Rng.Seed 1L))
