/// Finite-difference properties of the elementwise ops: tensor⊗tensor with broadcasting of random
/// compatible shapes, tensor⊗scalar on both sides, and every unary op (inputs kept away from kinks).
module VqVae.Tensors.Tests.ElementwiseGradTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

/// Binary op over a broadcast pair: a in [alo, ahi), b from makeB.
let private binary (op: Tensor -> Tensor -> Tensor) (makeA: PairCase -> Tensor) (makeB: PairCase -> Tensor) (c: PairCase) =
    onEveryBackend (fun () ->
        let a, b = makeA c, makeB c
        FiniteDiff.check (fun ts -> op ts[0] ts[1]) [| a; b |])

let private plain lo hi (c: PairCase) = uniform c.Seed 0 lo hi c.A
let private plainB lo hi (c: PairCase) = uniform c.Seed 1 lo hi c.B
let private nonZeroB (c: PairCase) = awayFromZero c.Seed 1 0.5f 2f c.B

[<PropertyTest(40)>]
let ``add with broadcasting`` c = binary (+) (plain -2f 2f) (plainB -2f 2f) c

[<PropertyTest(40)>]
let ``sub with broadcasting`` c = binary (-) (plain -2f 2f) (plainB -2f 2f) c

[<PropertyTest(40)>]
let ``mul with broadcasting`` c = binary (*) (plain -2f 2f) (plainB -2f 2f) c

[<PropertyTest(40)>]
let ``div with broadcasting`` c = binary (/) (plain -2f 2f) nonZeroB c

[<PropertyTest(40)>]
let ``pow tensor to tensor with broadcasting`` c =
    binary (fun a b -> Tensor.Pow(a, b)) (plain 0.5f 2f) (plainB -2f 2f) c

[<PropertyTest(40)>]
let ``broadcast results have the broadcast shape and the right values`` (c: PairCase) = onEveryBackend <| fun () ->
    // the forward of a broadcasting op against an index-by-index reference
    let a, b = plain -2f 2f c, plainB -2f 2f c
    let y = a * b + a
    let r = max c.A.Length c.B.Length
    let at (s: int[]) i = if i < r - s.Length then 1 else s[i - (r - s.Length)]
    let outShape = Array.init r (fun i -> max (at c.A i) (at c.B i))
    Assert.Equal<int[]>(outShape, y.Shape)
    let ya = y.ToArray()
    let aa, ba = a.ToArray(), b.ToArray()
    let flat (s: int[]) (idx: int[]) =
        // index into a broadcast operand: leading dims dropped, size-1 dims pinned to 0
        let off = r - s.Length
        let mutable f = 0
        for i in 0 .. s.Length - 1 do f <- f * s[i] + (if s[i] = 1 then 0 else idx[i + off])
        f
    for k in 0 .. ya.Length - 1 do
        let idx = Array.zeroCreate r
        let mutable rest = k
        for i in r - 1 .. -1 .. 0 do
            idx[i] <- rest % outShape[i]
            rest <- rest / outShape[i]
        let va, vb = aa[flat c.A idx], ba[flat c.B idx]
        Assert.Equal(va * vb + va, ya[k])

// ---------------------------------------------------------------- scalar on either side

let private scalarOp (op: Tensor -> Tensor) (make: ShapeCase -> Tensor) (c: ShapeCase) =
    onEveryBackend (fun () -> FiniteDiff.check1 op (make c))

let private values (c: ShapeCase) = uniform c.Seed 0 -2f 2f c.Shape
let private nonZero (c: ShapeCase) = awayFromZero c.Seed 0 0.5f 2f c.Shape
let private positive (c: ShapeCase) = uniform c.Seed 0 0.5f 2f c.Shape

[<PropertyTest(40)>]
let ``tensor plus scalar`` c = scalarOp (fun t -> t + 1.5f) values c

[<PropertyTest(40)>]
let ``scalar plus tensor`` c = scalarOp (fun t -> 1.5f + t) values c

[<PropertyTest(40)>]
let ``tensor minus scalar`` c = scalarOp (fun t -> t - 0.7f) values c

[<PropertyTest(40)>]
let ``scalar minus tensor`` c = scalarOp (fun t -> 0.7f - t) values c

[<PropertyTest(40)>]
let ``tensor times scalar`` c = scalarOp (fun t -> t * -2.5f) values c

[<PropertyTest(40)>]
let ``scalar times tensor`` c = scalarOp (fun t -> -2.5f * t) values c

[<PropertyTest(40)>]
let ``tensor divided by scalar`` c = scalarOp (fun t -> t / 3f) values c

[<PropertyTest(40)>]
let ``scalar divided by tensor`` c = scalarOp (fun t -> 3f / t) nonZero c

[<PropertyTest(40)>]
let ``pow with scalar exponents`` c =
    for p in [ 2f; 3f; 0.5f; -1.5f; 1.7f ] do
        scalarOp (fun t -> t ** p) positive c
    // the p = 2 fast path must also hold for negative bases
    scalarOp (fun t -> Tensor.Pow(t, 2f)) values c

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``scalar ops compute the right values`` (backend: string) = onBackend backend <| fun () ->
    let t = Tensor.FromArray([| 1f; -2f; 4f |], 3)
    Assert.Equal<float32[]>([| 3f; 0f; 6f |], (t + 2f).ToArray())
    Assert.Equal<float32[]>([| 3f; 0f; 6f |], (2f + t).ToArray())
    Assert.Equal<float32[]>([| -1f; -4f; 2f |], (t - 2f).ToArray())
    Assert.Equal<float32[]>([| 3f; -6f; 12f |], (t * 3f).ToArray())
    Assert.Equal<float32[]>([| 3f; -6f; 12f |], (3f * t).ToArray())
    Assert.Equal<float32[]>([| 1f; 4f; -2f |], (2f - t).ToArray())
    Assert.Equal<float32[]>([| 2f; -1f; 0.5f |], (2f / t).ToArray())
    Assert.Equal<float32[]>([| 0.5f; -1f; 2f |], (t / 2f).ToArray())
    Assert.Equal<float32[]>([| 1f; 4f; 16f |], (t ** 2f).ToArray())
    Assert.Equal<float32[]>([| -1f; 2f; -4f |], (-t).ToArray())

// ---------------------------------------------------------------- unary

[<PropertyTest(40)>]
let ``neg gradient`` c = scalarOp (fun t -> -t) values c

[<PropertyTest(40)>]
let ``exp gradient`` c = scalarOp exp values c

[<PropertyTest(40)>]
let ``log gradient`` c = scalarOp log positive c

[<PropertyTest(40)>]
let ``sqrt gradient`` c = scalarOp sqrt positive c

[<PropertyTest(40)>]
let ``abs gradient away from zero`` c = scalarOp abs nonZero c

[<PropertyTest(40)>]
let ``tanh gradient`` c = scalarOp tanh values c

[<PropertyTest(40)>]
let ``sigmoid gradient`` c = scalarOp (fun t -> Tensor.Sigmoid t) values c

[<PropertyTest(40)>]
let ``relu gradient away from zero`` c = scalarOp (fun t -> Tensor.Relu t) nonZero c

[<PropertyTest(40)>]
let ``square gradient`` c = scalarOp (fun t -> t.Square()) values c

[<PropertyTest(40)>]
let ``clamp gradient away from the bounds`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = avoiding c.Seed 0 -2f 2f [ -0.8f; 1.1f ] 0.05f c.Shape
    FiniteDiff.check1 (fun t -> t.Clamp(-0.8f, 1.1f)) x

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``abs, relu and clamp gradients at the kinks and outside the range`` (backend: string) = onBackend backend <| fun () ->
    let grad (f: Tensor -> Tensor) (x: Tensor) =
        let struct (_, g) = Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun t -> (f t * Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f |], 5)).Sum()), x)
        (nonNull g).ToArray()
    let x = Tensor.FromArray([| -2f; -0.5f; 0f; 1f; 3f |], 5)
    // abs: sign(x)·dy, 0 at 0 (not dy / sign, which is infinite there)
    Assert.Equal<float32[]>([| -1f; -2f; 0f; 4f; 5f |], grad abs x)
    // relu: dy where x > 0, 0 at 0
    Assert.Equal<float32[]>([| 0f; 0f; 0f; 4f; 5f |], grad (fun t -> Tensor.Relu t) x)
    // clamp to [-0.5, 1]: dy inside, ends included, 0 outside
    Assert.Equal<float32[]>([| 0f; 2f; 3f; 4f; 0f |], grad (fun t -> t.Clamp(-0.5f, 1f)) x)
    // a single point is a valid range: every value becomes it, the gradient is dy only there
    Assert.Equal<float32[]>([| 1f; 1f; 1f; 1f; 1f |], x.Clamp(1f, 1f).ToArray())
    Assert.Equal<float32[]>([| 0f; 0f; 0f; 4f; 0f |], grad (fun t -> t.Clamp(1f, 1f)) x)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``unary ops compute the right values``  (backend: string) = onBackend backend <| fun () ->
    let t = Tensor.FromArray([| -1f; 0.5f; 2f |], 3)
    let close (expected: float[]) (actual: Tensor) =
        Array.iter2 (fun (e: float) (a: float32) -> Assert.Equal(e, float a, 5)) expected (actual.ToArray())
    close [| exp -1.0; exp 0.5; exp 2.0 |] (exp t)
    close [| tanh -1.0; tanh 0.5; tanh 2.0 |] (tanh t)
    close [| 1.0 / (1.0 + exp 1.0); 1.0 / (1.0 + exp -0.5); 1.0 / (1.0 + exp -2.0) |] (Tensor.Sigmoid t)
    close [| 0.0; 0.5; 2.0 |] (Tensor.Relu t)
    close [| 1.0; 0.5; 2.0 |] (abs t)
    close [| 1.0; 0.25; 4.0 |] (t.Square())
    close [| -0.5; 0.5; 1.0 |] (t.Clamp(-0.5f, 1f))
    close [| log 0.5; log 2.0 |] (log (Tensor.FromArray([| 0.5f; 2f |], 2)))
    close [| sqrt 0.5; sqrt 2.0 |] (sqrt (Tensor.FromArray([| 0.5f; 2f |], 2)))
