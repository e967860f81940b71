/// The two backends against each other: the same random models and batches give the same loss
/// terms and gradients (same keys, within 1e-4 of each term's largest gradient), training is reproducible on libtorch, checkpoints
/// are the same files whichever backend wrote them, and mixing backends is a clear error.
module VqVae.Functional.Tests.BackendAgreementTests

open System
open System.IO
open FsCheck.FSharp
open VqVae.Tensors.Tests.Properties
open Xunit
open VqVae.Tensors
open VqVae.Functional.Checkpoints
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Training
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests

let private torch () = Backend.Get "torch"

/// Every term's value and gradient tree, keyed "term/leaf" (absent where the term does not reach).
let private termsAndGrads (model: VqVaeModel) (x: Tensor) =
    [ for term in LossTerms.Names do
        let struct (v, g) = Grad.ValueAndGrad(Func<VqVaeModel, Tensor>(fun m -> (VqVaeModel.LossTerms(m, x)).Term term), model)
        yield term, v.ToScalar(), [ for l in g do match l.Gradient with | null -> () | t -> yield l.Name, t.ToArray() ] ]

/// Max |a − b| of one gradient leaf over the term's largest gradient entry (on either backend). Not over
/// the leaf's own scale: a leaf can be a sum of many cancelling parts (a one-channel output bias sums
/// dL/dout over every pixel), and float32 sums of the same parts in another order differ by a fraction of
/// the parts, not of the sum: seen here, 1.2e-8 on a bias of 4.4e-5 whose term's gradients reach 1.9e-3.
let private relLeaf (termScale: float) (a: float32[]) (b: float32[]) =
    let scale = max termScale (max (maxAbs a) (maxAbs b))
    if scale = 0.0 then 0.0 else maxAbsDiff a b / scale

/// Compares the CPU backend on one model with libtorch on another (the same one, except in the teeth test).
let private agreeOn (cpuModel: VqVaeModel) (torchModel: VqVaeModel) (x: Tensor) =
    let onCpu = termsAndGrads cpuModel x
    let onTorch = termsAndGrads (Tree.To(torchModel, torch ())) (x.To(torch ()))
    for (term, va, ga), (_, vb, gb) in List.zip onCpu onTorch do
        let rv = abs (float va - float vb) / max 1e-30 (max (abs (float va)) (abs (float vb)))
        if rv > 1e-4 then failwithf "%s: values differ, %g on cpu, %g on torch (rel %g)" term va vb rv
        let ka, kb = List.map fst ga, List.map fst gb
        if ka <> kb then failwithf "%s: gradient keys differ: cpu %A, torch %A" term ka kb
        let termScale = ga @ gb |> List.map (snd >> maxAbs) |> List.fold max 0.0
        for (k, a), (_, b) in List.zip ga gb do
            let r = relLeaf termScale a b
            if r > 1e-4 then failwithf "%s/%s: gradients differ by rel %g" term k r

let private agree (model: VqVaeModel) (x: Tensor) = agreeOn model model x

/// Smallest gap, relative to the distances' scale, between the nearest and the second-nearest code
/// over every latent row (in double). Below float32 resolution the two backends' matmuls may round
/// a near-tie either way and pick different codes; agreement is promised only above it.
let private nearestGap (model: VqVaeModel) (x: Tensor) =
    use _ = NoGradScope.Begin()
    let ze = VqVaeModel.Encode(model, x)
    let d = ze.Shape[1]
    let rows = ze.Permute(0, 2, 3, 1).ToArray()
    let e = model.Codebook.Embedding.ToArray()
    let k = e.Length / d
    let mutable gap = Double.MaxValue
    for r in 0 .. rows.Length / d - 1 do
        let dist = Array.init k (fun j -> Seq.sum (seq { for i in 0 .. d - 1 -> let t = float rows[r * d + i] - float e[j * d + i] in t * t }))
        let sorted = Array.sort dist
        let scale = 1.0 + sorted[0] + (Seq.sum (seq { for i in 0 .. d - 1 -> float rows[r * d + i] ** 2.0 }))
        if k > 1 then gap <- min gap ((sorted[1] - sorted[0]) / scale)
    gap

[<PropertyTest(12)>]
let ``the backends agree on loss terms and every gradient of random models and batches`` (c: ModelCase) =
    // Cases with a near-tie nearest code (gap under 1e-5 of the scale) are discarded, not passed.
    let model, x = modelOf c, batchOf c
    Prop.filter (nearestGap model x >= 1e-5) (lazy (agree model x))

[<Fact>]
let ``the agreement check fails when one backend's gradient is off`` () =
    // teeth: a torch-side model whose decoder output weights are perturbed must be caught
    let c = { Config = VqVaeConfig.Mnist.With(hidden = Nullable 8, codebookSize = Nullable 16, codeDim = Nullable 4); ModelSeed = 7L; Batch = 2; Size = 28; DataSeed = 9L }
    let model, x = modelOf c, batchOf c
    agreeOn model model x
    // the decoder's last bias moved by 1e-3 on the torch side only: some term or gradient must differ
    let skewed = Tree.Map(model, fun t -> if t.Rank = 1 && t.Length = 1 then t + 1e-3f else t)
    let e = Assert.ThrowsAny<exn>(fun () -> agreeOn model skewed x)
    Assert.Contains("differ", e.Message)

[<Fact>]
let ``an op mixing backends names both`` () =
    let a = Tensor.FromArray(Backend.Cpu, [| 1f; 2f |], 2)
    let b = Tensor.FromArray(torch (), [| 1f; 2f |], 2)
    for f in [ (fun () -> a + b); (fun () -> b * a); (fun () -> Tensor.MatMul(a.Reshape(1, 2), b.Reshape(2, 1))) ] do
        let e = Assert.Throws<ArgumentException>(fun () -> f () |> ignore)
        Assert.Contains("different backends", e.Message)
        Assert.Contains("cpu", e.Message)
        Assert.Contains("torch", e.Message)

[<Fact>]
let ``To moves values exactly and the gradient comes back to the first backend`` () =
    let x = Tensor.Uniform(Rng.Seed 3L, -2f, 2f, 3, 4)
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(fun t -> (t.To(torch ()) * t.To(torch ())).Sum()), x)
    let g = nonNull "x" g
    Assert.Same(Backend.Cpu, g.Backend)
    Assert.Equal<float32[]>(x.ToArray() |> Array.map (fun v -> 2f * v), g.ToArray())
    Assert.Equal<float32[]>(x.ToArray(), x.To(torch ()).To(Backend.Cpu).ToArray())

let private trainBytes (backend: Backend) (seed: int64) =
    use _ = Backend.Use backend
    let cfg = VqVaeConfig.Mnist.With(hidden = Nullable 16, codebookSize = Nullable 32, codeDim = Nullable 8)
    let adam = Adam.Create 2e-3f
    let mutable model = VqVaeModel.Init(cfg, Rng.Seed seed)
    let mutable state = adam.Init model
    for i in 0 .. 4 do
        let x = Tensor.Uniform(Rng.Seed(100L + int64 i), 0f, 1f, 8, 1, 28, 28)
        let struct (m, s, _) = TrainStep.Apply(adam, model, state, x)
        model <- m; state <- s
    let path = Scratch.path $"vqvae-backend-{backend.Name}.safetensors"
    try
        Checkpoint.Save(path, model)
        File.ReadAllBytes path
    finally File.Delete path

[<Fact>]
let ``same seed, same checkpoint bytes on libtorch; files read back on either backend`` () =
    let a = trainBytes (torch ()) 5L
    let b = trainBytes (torch ()) 5L
    Assert.Equal<byte[]>(a, b)
    Assert.NotEqual<byte[]>(a, trainBytes (torch ()) 6L)
    // a checkpoint written from libtorch loads on the CPU backend and writes back the same bytes
    let path = Scratch.path "vqvae-backend-rt.safetensors"
    let path2 = path + ".2.safetensors"
    try
        File.WriteAllBytes(path, a)
        let m = Checkpoint.Load path
        Assert.Same(Backend.Cpu, m.Codebook.Embedding.Backend)
        Checkpoint.Save(path2, Tree.To(m, torch ()))
        Assert.Equal<byte[]>(a, File.ReadAllBytes path2)
    finally
        File.Delete path
        File.Delete path2

[<Fact>]
let ``libtorch tensors made in an arena scope are freed with it and Keep copies them out`` () =
    use _ = Backend.Use(torch ())
    let x = Tensor.Uniform(Rng.Seed 1L, 0f, 1f, 4, 4)
    let mutable inner = Unchecked.defaultof<Tensor>
    let mutable kept = Unchecked.defaultof<Tensor>
    do
        use arena = TensorArena.Begin()
        inner <- (x * 2f).Exp()
        Assert.True(TensorArena.IsArenaStorage inner)
        kept <- TensorArena.Keep inner
    Assert.False(TensorArena.IsArenaStorage kept)
    Assert.Throws<ObjectDisposedException>(fun () -> inner.ToArray() |> ignore) |> ignore
    Assert.Equal<float32[]>(((x * 2f).Exp()).ToArray(), kept.ToArray())
