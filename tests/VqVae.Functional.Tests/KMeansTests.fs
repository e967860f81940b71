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
