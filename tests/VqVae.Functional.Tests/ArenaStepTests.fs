/// TrainStep runs its forward and backward pass in a TensorArena: what it returns must be ordinary
/// storage (nothing aliases a recycled buffer) and bitwise what the same step gives without an arena.
module VqVae.Functional.Tests.ArenaStepTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Optim
open VqVae.Functional.Training

let private bits (t: Tensor) = t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

let private leaves (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Value) |> List.ofSeq

let private batches = [ for i in 0 .. 3 -> Tensor.Uniform(Rng.Seed(int64 (100 + i)), 0f, 1f, 4, 1, 28, 28) ]

[<Theory>]
[<InlineData("small")>]
[<InlineData("mnistSmall")>]
let ``train steps return ordinary storage, bitwise equal to the same steps without an arena`` (preset: string) =
    let cfg = VqVaeConfig.ByName preset
    let adam = Adam.Create(1e-3f)
    let model0 = VqVaeModel.Init(cfg, Rng.Seed(3L))
    // with TrainStep (arena inside)
    let mutable model, state = model0, adam.Init model0
    for x in batches do
        let struct (m, s, _) = TrainStep.Apply(adam, model, state, x)
        model <- m
        state <- s
    // by hand, no arena
    let mutable model2, state2 = model0, adam.Init model0
    for x in batches do
        let struct (_, terms, grads) =
            Grad.ValueAndGradWithAux((fun m -> let t = VqVaeModel.LossTerms(m, x) in struct (t.Total, t)), model2)
        let struct (p, s) = adam.Update(grads, state2, model2)
        model2 <- VqVaeModel.WithBuffersFrom(p, terms.Model)
        state2 <- s
    Assert.False(TensorArena.IsActive)
    let all (m: VqVaeModel) (s: AdamState<VqVaeModel>) = leaves m @ leaves s.M @ leaves s.V
    for t in all model state do
        Assert.False(TensorArena.IsArenaStorage t)
        t.ToArray() |> ignore // readable: not recycled
    Assert.Equal<int[] list>(all model2 state2 |> List.map bits, all model state |> List.map bits)
