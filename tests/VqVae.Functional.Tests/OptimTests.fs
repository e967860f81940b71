module VqVae.Functional.Tests.OptimTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Optim
open VqVae.Functional.Tests.TrainingHelpers
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

let private leaves (p: Pair) = [| p.A.ToArray(); p.B.ToArray() |]

/// Random gradients for a pair; leaf B is null when `dropB` (no gradient reaches it).
let private grads (rng: Rng) (p: Pair) dropB =
    let struct (r1, r2) = rng.Split()
    { A = tensor r1 -2f 2f p.A.Shape; B = if dropB then Unchecked.defaultof<Tensor> else tensor r2 -2f 2f p.B.Shape }

// ---- hand-written double-precision references (PyTorch's formulas, per leaf) -------------------

type private AdamRef = { P: float[]; M: float[]; V: float[]; T: int }

let private adamRef lr b1 b2 eps wd (s: AdamRef) (g: float32[]) =
    let t = s.T + 1
    let g = Array.map2 (fun (g: float32) p -> float g + wd * p) g s.P
    let m = Array.map2 (fun m g -> b1 * m + (1.0 - b1) * g) s.M g
    let v = Array.map2 (fun v g -> b2 * v + (1.0 - b2) * g * g) s.V g
    let bc1 = 1.0 - b1 ** float t
    let bc2 = 1.0 - b2 ** float t
    let p = Array.init s.P.Length (fun i -> s.P[i] - lr / bc1 * m[i] / (sqrt v[i] / sqrt bc2 + eps))
    { P = p; M = m; V = v; T = t }

type private SgdRef = { P: float[]; Buf: float[] option }

let private sgdRef lr mu damp nesterov wd (s: SgdRef) (g: float32[]) =
    let d = Array.map2 (fun (g: float32) p -> float g + wd * p) g s.P
    if mu = 0.0 then { P = Array.map2 (fun p d -> p - lr * d) s.P d; Buf = None }
    else
        let b =
            match s.Buf with
            | None -> d
            | Some b -> Array.map2 (fun b d -> mu * b + (1.0 - damp) * d) b d
        let step = if nesterov then Array.map2 (fun d b -> d + mu * b) d b else b
        { P = Array.map2 (fun p s -> p - lr * s) s.P step; Buf = Some b }

let private toDouble (xs: float32[]) = Array.map float xs

// ---- properties ---------------------------------------------------------------------------------

[<PropertyTest(50)>]
let ``Adam's first step moves each parameter by lr times the sign of its gradient`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng = Rng.Seed(int64 seed)
        let p = randomPair (rng.Fold 1L) 5 3
        let g = grads (rng.Fold 2L) p false
        let lr = 1e-2f + 0.1f * rng.UniformAt(9L)
        let adam = Adam.Create(lr)
        let struct (p', s') = adam.Update(asGrads p g, adam.Init p, p)
        Assert.Equal(1, s'.Step)
        for before, after, grad in Array.zip3 (leaves p) (leaves p') (leaves g) do
            for i in 0 .. before.Length - 1 do
                let expected = -(float lr) * float (sign grad[i])
                // |g| ≥ ~1e-7 here, so ε's share is at most lr·ε/|g|; plus float32 rounding of p.
                let tol = float lr * 1e-8 / max 1e-7 (abs (float grad[i])) + 1e-6
                Assert.True(abs (float (after[i] - before[i]) - expected) <= tol,
                            $"step {after[i] - before[i]} vs {expected} for g = {grad[i]}"))

[<PropertyTest(40)>]
let ``Adam matches its formula over several steps, with weight decay and a leaf that skips steps`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng = Rng.Seed(int64 seed)
        let u i = float (rng.UniformAt(int64 i))
        let lr, b1, b2 = 1e-3 + 0.05 * u 1, 0.5 + 0.45 * u 2, 0.9 + 0.099 * u 3
        let eps, wd = 10.0 ** (-8.0 + 4.0 * u 4), (if u 5 < 0.5 then 0.0 else 0.1 * u 6)
        let adam = Adam.Create(float32 lr, float32 b1, float32 b2, float32 eps, float32 wd)
        let p0 = randomPair (rng.Fold 1L) 4 2
        let refOf (x: float32[]) = { P = toDouble x; M = Array.zeroCreate x.Length; V = Array.zeroCreate x.Length; T = 0 }
        let mutable p, s = p0, adam.Init p0
        let mutable ra, rb = refOf (p0.A.ToArray()), refOf (p0.B.ToArray())
        for step in 1 .. 6 do
            let dropB = step % 3 = 2 // B gets no gradient on steps 2 and 5
            let g = grads (rng.Fold(100L + int64 step)) p dropB
            let struct (p', s') = adam.Update(asGrads p g, s, p)
            p <- p'; s <- s'
            ra <- adamRef lr b1 b2 eps wd ra (g.A.ToArray())
            if not dropB then rb <- adamRef lr b1 b2 eps wd rb (g.B.ToArray())
        Assert.Equal(6, s.Step)
        Assert.Equal<int list>([ 6; 4 ], List.ofSeq s.LeafSteps)
        for got, want in [ p.A, ra.P; p.B, rb.P; s.M.A, ra.M; s.V.B, rb.V ] do
            let err = maxAbsDiff (got.ToArray()) want
            Assert.True(err < 2e-5 * (1.0 + Array.fold (fun a x -> max a (abs x)) 0.0 want), $"max error {err}"))

[<PropertyTest(40)>]
let ``SGD matches its formula over several steps: momentum, dampening, Nesterov, weight decay`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng = Rng.Seed(int64 seed)
        let u i = float (rng.UniformAt(int64 i))
        let kind = seed % 4 // plain, momentum, momentum+dampening, Nesterov
        let lr = 0.01 + 0.2 * u 1
        let mu = if kind = 0 then 0.0 else 0.5 + 0.45 * u 2
        let damp = if kind = 2 then 0.5 * u 3 else 0.0
        let nesterov = kind = 3
        let wd = if u 4 < 0.5 then 0.0 else 0.1 * u 5
        let sgd = Sgd.Create(float32 lr, float32 mu, float32 damp, nesterov, float32 wd)
        let p0 = randomPair (rng.Fold 1L) 3 3
        let mutable p, s = p0, sgd.Init p0
        let mutable ra = { P = toDouble (p0.A.ToArray()); Buf = None }
        let mutable rb = { P = toDouble (p0.B.ToArray()); Buf = None }
        for step in 1 .. 5 do
            let dropB = step = 1 || step = 4 // B's buffer starts at its own first gradient (step 2)
            let g = grads (rng.Fold(100L + int64 step)) p dropB
            let struct (p', s') = sgd.Update(asGrads p g, s, p)
            p <- p'; s <- s'
            ra <- sgdRef lr mu damp nesterov wd ra (g.A.ToArray())
            if not dropB then rb <- sgdRef lr mu damp nesterov wd rb (g.B.ToArray())
        Assert.Equal(5, s.Step)
        Assert.Equal<int list>([ 5; 3 ], List.ofSeq s.LeafSteps)
        let plain = (mu = 0.0)
        Assert.Equal(plain, isNull (box s.MomentumBuffer))
        for got, want in [ p.A, ra.P; p.B, rb.P ] do
            let err = maxAbsDiff (got.ToArray()) want
            Assert.True(err < 1e-5, $"kind {kind}: max error {err}")
        if mu <> 0.0 then
            Assert.True(maxAbsDiff ((nonNull s.MomentumBuffer).B.ToArray()) rb.Buf.Value < 1e-5))

[<PropertyTest(20)>]
let ``a leaf without a gradient is left unchanged and its state untouched, even with weight decay`` () =
    let optimizers: IOptimizer list =
        [ Adam.Create(0.1f, weightDecay = 0.5f); Sgd.Create(0.1f, 0.9f, weightDecay = 0.5f); Sgd.Create(0.1f, weightDecay = 0.5f) ]
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng = Rng.Seed(int64 seed)
        for opt in optimizers do
            let p0 = randomPair (rng.Fold 1L) 3 2
            // One real step so the moments are non-zero, then a step where B has no gradient.
            let struct (p1, s1) = opt.Update(asGrads p0 (grads (rng.Fold 2L) p0 false), opt.Init p0, p0)
            let struct (p2, s2) = opt.Update(asGrads p1 (grads (rng.Fold 3L) p1 true), s1, p1)
            Assert.Same(p1.B, p2.B)
            Assert.Equal(s1.LeafSteps[1], s2.LeafSteps[1])
            // B's buffers (exp_avg, exp_avg_sq, momentum_buffer) are the very same tensors.
            let buffersOfB (s: OptimizerState<Pair>) =
                [ for l in Tree.Leaves s do if l.Name.StartsWith "b." && not (l.Name.EndsWith ".step") then l.Value ]
            for b1, b2 in List.zip (buffersOfB s1) (buffersOfB s2) do
                Assert.Same(b1, b2)
            Assert.NotEqual<float32[]>(p1.A.ToArray(), p2.A.ToArray())
            Assert.Equal(s1.LeafSteps[0] + 1, s2.LeafSteps[0]))

[<PropertyTest(100)>]
let ``clip by global norm scales to the max norm, keeps direction and null leaves, and passes small gradients through`` () =
    Prop.forAll seeds (fun seed -> onEveryBackend <| fun () ->
        let rng = Rng.Seed(int64 seed)
        let p = randomPair (rng.Fold 2L) 6 4
        let g = asGrads p (grads (rng.Fold 1L) p (seed % 2 = 0))
        let norm = g.GlobalNorm()
        let maxNorm = float32 (norm * float (0.1f + 1.8f * rng.UniformAt 3L))
        let struct (clipped, reported) = ClipByGlobalNorm.Create(maxNorm).Apply g
        Assert.Equal(norm, reported)
        Assert.Equal(isNull g["b"], isNull clipped["b"])
        let after = clipped.GlobalNorm()
        if norm <= float maxNorm then Assert.Same(box g, box clipped)
        else
            Assert.True(abs (after - float maxNorm) < 1e-5 * float maxNorm, $"norm {after} vs max {maxNorm}")
            let scale = after / norm
            Assert.True(maxAbsDiff ((nonNull clipped["a"]).ToArray()) ((nonNull g["a"]).ToArray() |> Array.map (fun x -> float x * scale)) < 1e-6))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``hyperparameters are checked with the argument named`` (backend: string) = onBackend backend <| fun () ->
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Adam.Create(1e-3f, beta1 = 1f) |> ignore)
    Assert.Contains("beta1", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Sgd.Create(0.1f, nesterov = true) |> ignore)
    Assert.Contains("Nesterov", e.Message)
    let p = randomPair (Rng.Seed 1L) 2 2
    let adam = Adam.Create(0.1f) :> IOptimizer
    let e = Assert.Throws<ArgumentException>(fun () -> adam.Update(asGrads p p, Sgd.Create(0.1f).Init p, p) |> ignore)
    Assert.Contains("expected an AdamState, got SgdState", e.Message)

// ---- named optimizer state (PyTorch's per-parameter state names) --------------------------------

let private stateNames (s: OptimizerState<Pair>) = Tree.Leaves s |> Seq.map (fun l -> l.Name) |> List.ofSeq
let private stateBits (s: OptimizerState<Pair>) =
    Tree.Leaves s |> Seq.map (fun l -> l.Name, l.Value.ToArray() |> Array.map BitConverter.SingleToInt32Bits) |> List.ofSeq

[<Fact>]
let ``optimizer states are trees with PyTorch's per-parameter state names`` () =
    let p = randomPair (Rng.Seed 1L) 2 2
    Assert.Equal<string list>([ "step"; "a.exp_avg"; "a.exp_avg_sq"; "a.step"; "b.exp_avg"; "b.exp_avg_sq"; "b.step" ], stateNames (Adam.Create(0.1f).Init p))
    Assert.Equal<string list>([ "step"; "a.momentum_buffer"; "a.step"; "b.momentum_buffer"; "b.step" ], stateNames (Sgd.Create(0.1f, 0.9f).Init p))
    Assert.Equal<string list>([ "step"; "a.step"; "b.step" ], stateNames (Sgd.Create(0.1f).Init p))

[<PropertyTest(10)>]
let ``a state saved as its leaves and restored onto a fresh Init continues bitwise like the original`` () =
    let optimizers: IOptimizer list = [ Adam.Create(0.05f, weightDecay = 0.1f); Sgd.Create(0.1f, 0.9f, nesterov = true); Sgd.Create(0.1f) ]
    Prop.forAll seeds (fun seed ->
        let rng = Rng.Seed(int64 seed)
        for opt in optimizers do
            let p0 = randomPair (rng.Fold 1L) 3 2
            let mutable p, s = p0, opt.Init p0
            for step in 1 .. 3 do
                let struct (p', s') = opt.Update(asGrads p (grads (rng.Fold(int64 step)) p (step = 2)), s, p)
                p <- p'; s <- s'
            // What a checkpoint keeps: the leaves' values (copied, so nothing is shared).
            let saved = Tree.Leaves s |> Seq.map (fun l -> Tensor.FromArray(l.Value.ToArray(), l.Value.Shape)) |> Array.ofSeq
            let restored = Tree.FromLeaves(opt.Init p0, saved)
            Assert.Equal(s.GetType(), restored.GetType())
            Assert.Equal(s.Step, restored.Step)
            Assert.Equal<int list>(List.ofSeq s.LeafSteps, List.ofSeq restored.LeafSteps)
            Assert.Equal<(string * int[]) list>(stateBits s, stateBits restored)
            let g = asGrads p (grads (rng.Fold 9L) p false)
            let struct (pa, sa) = opt.Update(g, s, p)
            let struct (pb, sb) = opt.Update(g, restored, p)
            Assert.Equal<int[]>(pa.B.ToArray() |> Array.map BitConverter.SingleToInt32Bits, pb.B.ToArray() |> Array.map BitConverter.SingleToInt32Bits)
            Assert.Equal<(string * int[]) list>(stateBits sa, stateBits sb))

[<Fact>]
let ``a restored state with a wrong shape or a count that is not a whole number is refused by name`` () =
    let p = randomPair (Rng.Seed 1L) 2 2
    let s = Adam.Create(0.1f).Init p
    let leaves = Tree.Leaves s |> Seq.map (fun l -> l.Value) |> Array.ofSeq
    let badShape = Array.copy leaves
    badShape[4] <- Tensor.Zeros(3)        // b.exp_avg
    let e = Assert.Throws<ArgumentException>(fun () -> Tree.FromLeaves(s, badShape) |> ignore)
    Assert.Contains("'b.exp_avg' must have shape [2,2], got [3]", e.Message)
    let badStep = Array.copy leaves
    badStep[3] <- Tensor.Scalar 1.5f      // a.step
    let e = Assert.Throws<ArgumentException>(fun () -> Tree.FromLeaves(s, badStep) |> ignore)
    Assert.Contains("'a.step' must be a whole number", e.Message)

// ---- argument and state checks, each at its boundary and by name (found unpinned by mutation testing) ----

let private refused (name: string) (text: string) (f: unit -> unit) = refusedNaming name [ text ] f |> ignore

[<Fact>]
let ``Adam's and SGD's hyperparameters are accepted at their bounds and refused past them, by name`` () =
    // Accepted at the edges: 0 everywhere a value may be 0, just below 1 for the betas.
    Adam.Create(0f, beta1 = 0f, beta2 = 0f, epsilon = 0f, weightDecay = 0f) |> ignore
    let a = Adam.Create(0.5f, beta1 = MathF.BitDecrement 1f, beta2 = 0.25f, epsilon = 1e-3f, weightDecay = 0.125f)
    Assert.Equal((0.5f, MathF.BitDecrement 1f, 0.25f, 1e-3f, 0.125f), (a.LearningRate, a.Beta1, a.Beta2, a.Epsilon, a.WeightDecay))
    for bad in [ -1e-7f; nanf; infinityf ] do
        refused "learningRate" "adam: learningRate must be finite and ≥ 0, got " (fun () -> Adam.Create bad |> ignore)
        refused "epsilon" "adam: epsilon must be finite and ≥ 0" (fun () -> Adam.Create(0.1f, epsilon = bad) |> ignore)
        refused "weightDecay" "adam: weightDecay must be finite and ≥ 0" (fun () -> Adam.Create(0.1f, weightDecay = bad) |> ignore)
        refused "learningRate" "sgd: learningRate must be finite and ≥ 0" (fun () -> Sgd.Create bad |> ignore)
        refused "momentum" "sgd: momentum must be finite and ≥ 0" (fun () -> Sgd.Create(0.1f, momentum = bad) |> ignore)
        refused "weightDecay" "sgd: weightDecay must be finite and ≥ 0" (fun () -> Sgd.Create(0.1f, weightDecay = bad) |> ignore)
    for bad in [ 1f; -1e-7f; nanf; 1.5f ] do
        refused "beta1" "adam: beta1 must be in [0, 1), got " (fun () -> Adam.Create(0.1f, beta1 = bad) |> ignore)
        refused "beta2" "adam: beta2 must be in [0, 1), got " (fun () -> Adam.Create(0.1f, beta2 = bad) |> ignore)
    refused "beta1" "got 1." (fun () -> Adam.Create(0.1f, beta1 = 1f) |> ignore)
    // SGD: dampening may be any finite value; Nesterov needs momentum > 0 and no dampening.
    let s = Sgd.Create(0.5f, momentum = 0.75f, dampening = -2f, weightDecay = 0.125f)
    Assert.Equal((0.5f, 0.75f, -2f, false, 0.125f), (s.LearningRate, s.Momentum, s.Dampening, s.Nesterov, s.WeightDecay))
    Assert.True(Sgd.Create(0.1f, momentum = 1e-6f, nesterov = true).Nesterov)
    for bad in [ nanf; infinityf; -infinityf ] do
        refused "dampening" "sgd: dampening must be finite." (fun () -> Sgd.Create(0.1f, momentum = 0.9f, dampening = bad) |> ignore)
    refused "nesterov" "sgd: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum 0, dampening 0." (fun () -> Sgd.Create(0.1f, nesterov = true) |> ignore)
    refused "nesterov" "got momentum 0.9, dampening 0.5." (fun () -> Sgd.Create(0.1f, momentum = 0.9f, dampening = 0.5f, nesterov = true) |> ignore)
    refused "nesterov" "got momentum 0.9, dampening -0.5." (fun () -> Sgd.Create(0.1f, momentum = 0.9f, dampening = -0.5f, nesterov = true) |> ignore)

[<Fact>]
let ``an optimizer refuses a state made by another optimizer or for another setting, saying which`` () =
    let p = randomPair (Rng.Seed 1L) 2 2
    let g = asGrads p p
    let sgd = Sgd.Create(0.1f) :> IOptimizer
    refused "state" "sgd: expected an SgdState, got AdamState`1 (made by another optimizer?)." (fun () -> sgd.Update(g, Adam.Create(0.1f).Init p, p) |> ignore)
    refused "state" "sgd: expected an SgdState, got null" (fun () -> sgd.Update(g, Unchecked.defaultof<OptimizerState<Pair>>, p) |> ignore)
    refused "state" "adam: expected an AdamState, got null" (fun () -> (Adam.Create 0.1f :> IOptimizer).Update(g, Unchecked.defaultof<OptimizerState<Pair>>, p) |> ignore)
    refused "state" "sgd: momentum is 0 but the state has a momentum buffer (made by another optimizer?)." (fun () -> Sgd.Create(0.1f).Update(g, Sgd.Create(0.1f, 0.9f).Init p, p) |> ignore)
    refused "state" "sgd: momentum is 0.9 but the state has no momentum buffer" (fun () -> Sgd.Create(0.1f, 0.9f).Update(g, Sgd.Create(0.1f).Init p, p) |> ignore)
    Assert.Equal("state", Assert.Throws<ArgumentNullException>(fun () -> Sgd.Create(0.1f).Update(g, Unchecked.defaultof<SgdState<Pair>>, p) |> ignore).ParamName)
    Assert.Equal("state", Assert.Throws<ArgumentNullException>(fun () -> Adam.Create(0.1f).Update(g, Unchecked.defaultof<AdamState<Pair>>, p) |> ignore).ParamName)

[<Fact>]
let ``the leaf walk refuses gradients and states that do not fit the parameters, naming the leaf and shapes`` () =
    let small, big = randomPair (Rng.Seed 1L) 2 2, randomPair (Rng.Seed 2L) 3 2
    let adam, sgd = Adam.Create 0.1f, Sgd.Create(0.1f, 0.9f)
    // Gradients of a tree whose leaf 'a' is [2], for parameters whose 'a' is [3].
    refused "gradients" "adam: gradient of 'a' has shape [2], the parameter [3]." (fun () -> adam.Update(asGrads small small, adam.Init big, big) |> ignore)
    refused "gradients" "sgd: gradient of 'a' has shape [2], the parameter [3]." (fun () -> sgd.Update(asGrads small small, sgd.Init big, big) |> ignore)
    // A missing gradient is not checked against anything: that leaf is skipped.
    let onlyB = Gradients<Pair>(small, [| (null: Tensor | null); (small.B: Tensor | null) |])
    let struct (p2, _) = adam.Update(onlyB, adam.Init big, big)
    Assert.Same(big.A, p2.A)
    // A state made for a model with more leaves (an EMA model has its EMA buffers besides).
    let plain = VqVae.Functional.Model.VqVaeModel.Init(VqVae.Functional.Model.VqVaeConfig.Small.With(hidden = 4, codebookSize = 4, codeDim = 2), Rng.Seed 1L)
    let ema = VqVae.Functional.Model.VqVaeModel.Init(plain.Config.With(quantizer = VqVae.Functional.Model.QuantizerKind.Ema), Rng.Seed 1L)
    let n, nEma = (Tree.Leaves plain).Count, (Tree.Leaves ema).Count
    let zeros (m: VqVae.Functional.Model.VqVaeModel) = Gradients<VqVae.Functional.Model.VqVaeModel>(m, [| for l in Tree.Leaves m -> Tensor.ZerosLike l.Value |] |> Array.map (fun t -> (t: Tensor | null)))
    refused "state" $"adam: the state was made for a tree of {nEma} leaves, the parameters have {n}; call Init on these parameters." (fun () -> adam.Update(zeros plain, adam.Init ema, plain) |> ignore)
    refused "state" $"sgd: the state was made for a tree of {n} leaves, the parameters have {nEma}" (fun () -> sgd.Update(zeros ema, sgd.Init plain, ema) |> ignore)
    refused "gradients" $"adam: the gradients have {n} leaves, the parameters {nEma}." (fun () -> adam.Update(zeros plain, adam.Init ema, ema) |> ignore)

[<Fact>]
let ``a restored count must be one whole number in [0, 2^24], refused by name otherwise`` () =
    let p = randomPair (Rng.Seed 1L) 2 2
    for s0 in [ Adam.Create(0.1f).Init p :> OptimizerState<Pair>; Sgd.Create(0.1f, 0.9f).Init p; Sgd.Create(0.1f).Init p ] do
        let leaves = Tree.Leaves s0 |> Seq.map (fun l -> l.Value) |> Array.ofSeq
        let withStep (t: Tensor) = let a = Array.copy leaves in a[0] <- t; a   // leaf 0 is the state's own 'step'
        Assert.Equal(16_777_216, (Tree.FromLeaves(s0, withStep (Tensor.Scalar 16_777_216f))).Step)
        Assert.Equal(0, (Tree.FromLeaves(s0, withStep (Tensor.Scalar 0f))).Step)
        Assert.Equal(7, (Tree.FromLeaves(s0, withStep (Tensor.FromArray([| 7f |], 1)))).Step)   // one element, any shape
        for bad, text in [ Tensor.Scalar -1f, "'step' must be a whole number in [0, 2^24], got -1."
                           Tensor.Scalar 16_777_218f, "got 16777218."
                           Tensor.Scalar nanf, "got NaN."
                           Tensor.Scalar 2.5f, "got 2.5."
                           Tensor.Zeros 2, "optimizer state: 'step' must be a scalar count, got shape [2]."
                           Tensor.Zeros(1, 2), "got shape [1,2]." ] do
            let e = Assert.Throws<ArgumentException>(fun () -> Tree.FromLeaves(s0, withStep bad) |> ignore)
            Assert.Equal("reader", e.ParamName)
            Assert.Contains(text, e.Message)

/// A one-leaf tree whose leaf name is data, so that two trees of one type can disagree on names.
type private Named =
    { Name: string; W: Tensor }
    interface IParameterTree<Named> with
        member t.Flatten w = w.Leaf(t.Name, t.W)
        member t.Unflatten r = { t with W = r.Leaf() }

[<Fact>]
let ``clip by global norm refuses a max norm that is not finite and positive, by name`` () =
    for bad in [ 0f; -0f; -1f; nanf; infinityf; -infinityf ] do
        refused "maxNorm" $"clipByGlobalNorm: maxNorm must be finite and > 0, got {bad}." (fun () -> ClipByGlobalNorm bad |> ignore)
    for ok in [ Single.Epsilon; 1f; Single.MaxValue ] do Assert.Equal(ok, ClipByGlobalNorm(ok).MaxNorm)
    Assert.Equal("gradients", Assert.Throws<ArgumentNullException>(fun () -> ClipByGlobalNorm(1f).Apply(Unchecked.defaultof<Gradients<Pair>>) |> ignore).ParamName)

[<Fact>]
let ``clip by global norm scales by exactly maxNorm over the norm plus 1e-6, as PyTorch`` () =
    let p = randomPair (Rng.Seed 1L) 2 1
    let g = Gradients<Pair>(p, [| (Tensor.FromArray([| 3f; 4f |], 2): Tensor | null); Tensor.Zeros(1, 2) |])
    let struct (clipped, norm) = ClipByGlobalNorm(1f).Apply g
    Assert.Equal(5.0, norm)
    let coef = float32 (1.0 / (5.0 + 1e-6))
    Assert.Equal<int[]>([| 3f * coef; 4f * coef |] |> Array.map BitConverter.SingleToInt32Bits,
                        (nonNull clipped["a"]).ToArray() |> Array.map BitConverter.SingleToInt32Bits)

[<Fact>]
let ``the optimizers name a missing argument, a mismatched leaf and a misfit restored buffer`` () =
    let p = randomPair (Rng.Seed 1L) 2 2
    let adam, sgd = Adam.Create 0.1f, Sgd.Create(0.1f, 0.9f)
    Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(fun () -> adam.Init(Unchecked.defaultof<Pair>) |> ignore).ParamName)
    Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(fun () -> sgd.Init(Unchecked.defaultof<Pair>) |> ignore).ParamName)
    Assert.Equal("gradients", Assert.Throws<ArgumentNullException>(fun () -> adam.Update(Unchecked.defaultof<Gradients<Pair>>, adam.Init p, p) |> ignore).ParamName)
    Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(fun () -> sgd.Update(asGrads p p, sgd.Init p, Unchecked.defaultof<Pair>) |> ignore).ParamName)
    // Same leaf count, other names: gradients of another tree.
    let x, y = { Name = "x"; W = Tensor.Zeros 2 }, { Name = "y"; W = Tensor.Zeros 2 }
    let gx = Gradients<Named>(x, [| (Tensor.Ones 2: Tensor | null) |])
    refused "gradients" "adam: gradient leaf 0 is 'x', the parameter 'y' (gradients of another tree?)." (fun () -> adam.Update(gx, adam.Init y, y) |> ignore)
    // Multi-dimensional shapes are written with their commas.
    let wide = randomPair (Rng.Seed 2L) 2 3
    refused "gradients" "sgd: gradient of 'b' has shape [2,2], the parameter [3,2]." (fun () -> sgd.Update(asGrads p p, sgd.Init wide, wide) |> ignore)
    // A state whose counts are for another tree, with no buffers to give it away (plain SGD).
    refused "state" "sgd: the state was made for a tree of 1 leaves, the parameters have 2" (fun () -> Sgd.Create(0.1f).Update(asGrads p p, SgdState<Pair>(0, Collections.Immutable.ImmutableArray.Create 0, Unchecked.defaultof<Pair>), p) |> ignore)
    // Restored buffers and counts are refused under their own names.
    let restore (s: OptimizerState<Pair>) (i: int) (t: Tensor) =
        let leaves = Tree.Leaves s |> Seq.map (fun l -> l.Value) |> Array.ofSeq
        leaves[i] <- t
        Tree.FromLeaves(s, leaves) |> ignore
    refused "reader" "'b.exp_avg_sq' must have shape [2,2], got [2,3]." (fun () -> restore (adam.Init p) 5 (Tensor.Zeros(2, 3)))
    refused "reader" "'b.momentum_buffer' must have shape [2,2], got [2,3]." (fun () -> restore (sgd.Init p) 3 (Tensor.Zeros(2, 3)))
    refused "reader" "'b.step' must be a whole number" (fun () -> restore (sgd.Init p) 4 (Tensor.Scalar 0.5f))

[<Fact>]
let ``optimizer states name their leaves by position when made without names, and refuse a null writer or reader`` () =
    let s = SgdState<Pair>(0, Collections.Immutable.ImmutableArray.Create(0, 0), Unchecked.defaultof<Pair>)
    Assert.Equal<string list>([ "step"; "0.step"; "1.step" ], stateNames s)
    let p = randomPair (Rng.Seed 1L) 2 2
    for st in [ Adam.Create(0.1f).Init p :> OptimizerState<Pair>; Sgd.Create(0.1f, 0.9f).Init p ] do
        Assert.Equal("writer", Assert.Throws<ArgumentNullException>(fun () -> st.Flatten(Unchecked.defaultof<TreeWriter>)).ParamName)
        Assert.Equal("reader", Assert.Throws<ArgumentNullException>(fun () -> st.Unflatten(Unchecked.defaultof<TreeReader>) |> ignore).ParamName)
