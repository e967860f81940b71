/// The prior files' small contracts (Prior/*): encoding a set in chunks, and the refusals and choices the
/// mutation run of the folder found unpinned.
module VqVae.Functional.Tests.PriorContractTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Model
open VqVae.Functional.Prior
open VqVae.Tensors.Tests.Refusals

[<Fact>]
let ``a set is encoded in chunks to the codes of one pass, in order; a chunk size below 1 is refused, not an endless loop`` () =
    let m = VqVaeModel.Init(ModelTests.tiny, Rng.Seed 1L)
    let x = Tensor.Uniform(Rng.Seed 2L, 0f, 1f, 5, 1, 8, 8)
    let one = VqVaeModel.EncodeToCodes(m, x)
    for batch in [ 1; 2; 5; 256 ] do
        let c = PriorFitting.EncodeAll(m, x, batch)
        Assert.Equal<int[]>(one.ToArray(), c.ToArray())
        Assert.Equal<int[]>([| 5; 2; 2 |], c.Shape)
    refusedAs<ArgumentOutOfRangeException> "batch" "encodeAll: batch must be ≥ 1." (fun () -> PriorFitting.EncodeAll(m, x, 0)) |> ignore
    refusedAs<ArgumentException> "images" "encodeAll: images must be [N,C,H,W] with N ≥ 1, got [5,8,8]." (fun () -> PriorFitting.EncodeAll(m, Tensor.Zeros(5, 8, 8))) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> PriorFitting.EncodeAll(Unchecked.defaultof<VqVaeModel>, x)))
    Assert.Equal("images", nullArgumentOf (fun () -> PriorFitting.EncodeAll(m, Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``mean nats are over every code of the set whatever the batch; a batch below 1 is refused, not an endless loop`` () =
    let prior = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2), Rng.Seed 1L)
    let codes = VqVae.Functional.Quantization.CodeIndices.Of(Array.init (5 * 9) (fun i -> (i * 7) % 6), 5, 3, 3)
    let each = (PriorModel.NatsPerCode(prior, codes)).ToArray() |> Array.map float
    let mean = Array.average each
    for batch in [ 1; 2; 5; 64 ] do
        Assert.Equal(mean, PriorTraining.MeanNats(prior, codes, batch = batch), 9)
    refusedAs<ArgumentOutOfRangeException> "batch" "meanNats: batch must be ≥ 1." (fun () -> PriorTraining.MeanNats(prior, codes, batch = 0)) |> ignore
