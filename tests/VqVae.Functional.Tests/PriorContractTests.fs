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

[<Fact>]
let ``the horizontal mask opens the taps left of the centre, and the centre only when asked; an even or empty kernel is refused`` () =
    let mask k centre = (CausalMasks.Horizontal(k, centre)).ToArray()
    Assert.Equal<float32[]>([| 0f |], mask 1 false)
    Assert.Equal<float32[]>([| 1f |], mask 1 true)
    Assert.Equal<float32[]>([| 1f; 1f; 0f; 0f; 0f |], mask 5 false)
    Assert.Equal<float32[]>([| 1f; 1f; 1f; 0f; 0f |], mask 5 true)
    Assert.Equal<int[]>([| 1; 3 |], (CausalMasks.Horizontal(3, true)).Shape)
    for k in [ 0; 2; 4; -1 ] do
        refusedAs<ArgumentOutOfRangeException> "kernel" "causal mask: kernel must be odd and ≥ 1." (fun () -> CausalMasks.Horizontal(k, true)) |> ignore

[<Fact>]
let ``shifting down moves every row one down and fills the first with zeros; a one-row grid becomes zeros`` () =
    let x = Tensor.FromArray(Array.init 12 (fun i -> float32 (i + 1)), 1, 2, 3, 2)
    // Per channel: rows (1 2) (3 4) (5 6) become (0 0) (1 2) (3 4).
    Assert.Equal<float32[]>([| 0f; 0f; 1f; 2f; 3f; 4f; 0f; 0f; 7f; 8f; 9f; 10f |], (CausalMasks.ShiftDown x).ToArray())
    let row = Tensor.FromArray([| 1f; 2f; 3f |], 1, 1, 1, 3)
    let shifted = CausalMasks.ShiftDown row
    Assert.Equal<int[]>([| 1; 1; 1; 3 |], shifted.Shape)
    Assert.Equal<float32[]>([| 0f; 0f; 0f |], shifted.ToArray())
    refusedAs<ArgumentException> "x" "shiftDown: expected [B,C,H,W], got [2,3]." (fun () -> CausalMasks.ShiftDown(Tensor.Zeros(2, 3))) |> ignore
    Assert.Equal("x", nullArgumentOf (fun () -> CausalMasks.ShiftDown(Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``a condition is sliced along the batch: its labels and its code grids (non-square, so rows and columns cannot be swapped)`` () =
    let codes = VqVae.Functional.Quantization.CodeIndices.Of(Array.init 18 id, 3, 2, 3)
    let c = PriorCondition([| 7; 8; 9 |], codes).Slice(1, 2)
    Assert.Equal<int[]>([| 8; 9 |], nonNull c.Labels)
    let sliced = nonNull c.Codes
    Assert.Equal<int[]>([| 2; 2; 3 |], sliced.Shape)
    Assert.Equal<int[]>([| 6 .. 17 |], sliced.ToArray())
    let none = PriorCondition.None.Slice(0, 1)
    Assert.True(isNull none.Labels && isNull none.Codes)
    Assert.Equal<int[]>([| 9 |], nonNull (PriorCondition(Labels = [| 7; 8; 9 |]).Slice(2, 1)).Labels)
