/// VQ-VAE-2 against PyTorch: a model built by python/vqvae2_torch.py, saved under its state_dict names
/// (tests/fixtures/make_vqvae2_fixture.py), loads with VqVae2Checkpoint.Load and gives the same codes, loss
/// terms and total-loss gradients (rel ≤ 1e-4) on a 12×12 batch (padded to 16) and a 28×28 one (padded to 32).
module VqVae.Functional.Tests.VqVae2ParityTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Hierarchical
open VqVae.Functional.Tests.ModelGenerators

[<Theory>]
[<InlineData("x12")>]
[<InlineData("x28")>]
let ``a PyTorch-built VQ-VAE-2 loads strictly and matches PyTorch's codes, terms and gradients`` (tag: string) =
    let model = VqVae2Checkpoint.Load(fixturePath "vqvae2_tiny.safetensors")
    let f = loadFixture "vqvae2_parity.safetensors"
    let x = tensorOf f (tag + "/x")
    let (_, terms, grads) = Grad.ValueAndGradWithAux(Func<_, _>(fun m -> let t = VqVae2Model.LossTerms(m, x) in struct (t.Total, t)), model).ToTuple()
    Assert.Equal<float32[]>((tensorOf f (tag + "/codes_t")).ToArray(), terms.TopQuantized.Indices.ToArray() |> Array.map float32)
    Assert.Equal<float32[]>((tensorOf f (tag + "/codes_b")).ToArray(), terms.BottomQuantized.Indices.ToArray() |> Array.map float32)
    for name in VqVae2LossTerms.Names do
        let ours, theirs = (terms.Term name).ToScalar(), (tensorOf f $"{tag}/term/{name}").ToArray()[0]
        Assert.True(closeArrays 1e-4 1e-7 [| ours |] [| theirs |], sprintf "%s: ours %g, PyTorch %g" name ours theirs)
    for i in 0 .. grads.Count - 1 do
        let leaf = grads[i]
        let theirs = (tensorOf f $"{tag}/grad/{leaf.Name}").ToArray()
        match leaf.Gradient with
        | null -> Assert.True(Array.forall ((=) 0.0f) theirs, $"{leaf.Name}: no gradient here, PyTorch has a non-zero one")
        | g -> Assert.True(closeArrays 1e-4 1e-7 (g.ToArray()) theirs, sprintf "%s: max |difference| %g" leaf.Name (maxAbsDiff (g.ToArray()) theirs))
