/// What the AD layer promises beyond single ops: stop-gradients, null (not zero) for unreached
/// inputs, linearity, broadcasting adjoints, each node once (diamonds, deep chains), gradients over
/// parameter trees, Reach, and the scalar-output rule.
module VqVae.Tensors.Tests.AutodiffSemanticsTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals

let private grad1 (f: Tensor -> Tensor) (x: Tensor) =
    let struct (v, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(f), x)
    v, g

let private gradN (f: Tensor[] -> Tensor) (xs: Tensor[]) =
    let struct (v, g) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(f), xs)
    v, g

let private bits (t: Tensor) = t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

[<PropertyTest(30)>]
let ``noDiff keeps the values and blocks the gradient`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 -2f 2f c.Shape
    let _, g = grad1 (fun t -> Assert.True(t.IsTracked); Assert.False(t.NoDiff().IsTracked); Assert.Equal<int[]>(bits t, bits (t.NoDiff())); (t.NoDiff() * t).Sum()) x
    // d/dx sum(sg(x)·x) = sg(x) = x, not 2x
    Assert.Equal<int[]>(bits x, bits (nonNull g))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``an input reached only through noDiff gets null`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    let v, g = grad1 (fun t -> (exp (t.NoDiff()) * 3f).Sum()) x
    Assert.True(isNull g)
    Assert.Equal(3.0 * (exp 1.0 + exp 2.0), float (v.ToScalar()), 4)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``an input the output never reaches gets null, not zeros`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    let y = Tensor.FromArray([| 3f; 4f; 5f |], 3)
    let v, gs = gradN (fun ts -> ts[0].Sum()) [| x; y |]
    Assert.Equal(3f, v.ToScalar())
    Assert.Equal<float32[]>([| 1f; 1f |], (nonNull gs[0]).ToArray())
    Assert.True(isNull gs[1])
    // multiplying by zero still reaches: zeros, not null
    let _, gs = gradN (fun ts -> ts[0].Sum() + (ts[1] * 0f).Sum()) [| x; y |]
    Assert.Equal<float32[]>([| 0f; 0f; 0f |], (nonNull gs[1]).ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a constant function gives null and its value`` (backend: string) = onBackend backend <| fun () ->
    let v, g = grad1 (fun _ -> Tensor.Scalar 7f) (Tensor.Ones(2))
    Assert.True(isNull g)
    Assert.Equal(7f, v.ToScalar())

[<PropertyTest(30)>]
let ``the gradient of a sum of functions is the sum of the gradients`` (c: ShapeCase) = onEveryBackend <| fun () ->
    let x = uniform c.Seed 0 0.5f 2f c.Shape
    let f (t: Tensor) = (tanh t * t).Sum()
    let g (t: Tensor) = (log t + t.Square()).Mean()
    let _, gf = grad1 f x
    let _, gg = grad1 g x
    let _, gfg = grad1 (fun t -> f t + g t) x
    let expected = (nonNull gf + nonNull gg).ToArray()
    Array.iter2 (fun (e: float32) (a: float32) -> if abs (e - a) > 1e-5f * (1f + abs e) then failwithf "%g vs %g" e a) expected ((nonNull gfg).ToArray())

[<PropertyTest(40)>]
let ``broadcasting backward sums to each input's shape`` (c: PairCase) = onEveryBackend <| fun () ->
    let a = uniform c.Seed 0 -2f 2f c.A
    let b = uniform c.Seed 1 -2f 2f c.B
    let _, gs = gradN (fun ts -> (ts[0] * ts[1]).Sum()) [| a; b |]
    let ga, gb = nonNull gs[0], nonNull gs[1]
    Assert.Equal<int[]>(c.A, ga.Shape)
    Assert.Equal<int[]>(c.B, gb.Shape)
    // d/da sum(a·b) = b summed over the broadcast dims: the same as sum(expand(b)) reduced to a's shape
    let big = (a * b).Shape
    let expectA = b.Expand(big).SumToShape(c.A).ToArray()
    let expectB = a.Expand(big).SumToShape(c.B).ToArray()
    Array.iter2 (fun (e: float32) (v: float32) -> if abs (e - v) > 1e-5f * (1f + abs e) then failwithf "da: %g vs %g" e v) expectA (ga.ToArray())
    Array.iter2 (fun (e: float32) (v: float32) -> if abs (e - v) > 1e-5f * (1f + abs e) then failwithf "db: %g vs %g" e v) expectB (gb.ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``broadcast of a scalar tensor: gradient is the sum`` (backend: string) = onBackend backend <| fun () ->
    let s = Tensor.Scalar 2f
    let m = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 2, 3)
    let _, gs = gradN (fun ts -> (ts[0] * ts[1]).Sum()) [| s; m |]
    Assert.Equal<int[]>([||], (nonNull gs[0]).Shape)
    Assert.Equal(21f, (nonNull gs[0]).ToScalar())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a diamond graph sums the adjoints of a shared input`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; -2f; 3f |], 3)
    let a, b = 2.5f, -0.5f
    let _, g = grad1 (fun t -> (a * t + b * t).Sum()) x
    Assert.Equal<float32[]>([| 2f; 2f; 2f |], (nonNull g).ToArray())
    // a deeper diamond: u = x², y = u·u + u  → dy/dx = (2u + 1)·2x
    let _, g = grad1 (fun t -> let u = t.Square() in (u * u + u).Sum()) x
    let expected = x.ToArray() |> Array.map (fun v -> (2f * v * v + 1f) * 2f * v)
    Assert.Equal<float32[]>(expected, (nonNull g).ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the same tensor as both operands`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; -2f; 3f |], 3)
    let _, g = grad1 (fun t -> (t * t).Sum()) x
    Assert.Equal<float32[]>([| 2f; -4f; 6f |], (nonNull g).ToArray())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a chain of 10,000 ops does not overflow the stack`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    let v, g =
        grad1 (fun t ->
            let mutable y = t
            for _ in 1 .. 10_000 do y <- y * 1.0001f
            y.Sum()) x
    // the float32 multiplier, compounded; float32 rounding over 10,000 steps stays far below 1e-3
    let factor = Math.Pow(float 1.0001f, 10_000.0)
    let near (e: float) (a: float32) = Assert.True(abs (float a - e) < 1e-3 * e, $"{a} vs {e}")
    near (3.0 * factor) (v.ToScalar())
    for gv in (nonNull g).ToArray() do near factor gv

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a wide fan-out of 10,000 uses of one input visits each node once`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 0.5f |], 1)
    let _, g =
        grad1 (fun t ->
            let mutable y = Tensor.Zeros(1)
            for _ in 1 .. 10_000 do y <- y + t
            y.Sum()) x
    Assert.Equal(10_000f, (nonNull g).ToArray()[0])

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``valueAndGrad rejects a non-scalar output with a clear message`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    let e = Assert.Throws<InvalidOperationException>(fun () -> grad1 (fun t -> t * 2f) x |> ignore)
    Assert.Contains("scalar", e.Message)
    Assert.Contains("[2]", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a one-element output of any rank is accepted`` (backend: string) = onBackend backend <| fun () ->
    let x = Tensor.FromArray([| 3f |], 1, 1)
    let v, g = grad1 (fun t -> t.Square()) x
    Assert.Equal(9f, v.ToScalar())
    Assert.Equal(6f, (nonNull g).ToScalar())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``values returned by valueAndGrad are untracked`` (backend: string) = onBackend backend <| fun () ->
    let v, g = grad1 (fun t -> t.Square().Sum()) (Tensor.Ones(2))
    Assert.False(v.IsTracked)
    Assert.False((nonNull g).IsTracked)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``recording is off inside NoGradScope`` (backend: string) = onBackend backend <| fun () ->
    let _, g =
        grad1 (fun t ->
            use _ = NoGradScope.Begin()
            let y = t * 2f
            Assert.False(y.IsTracked)
            y.Sum()) (Tensor.Ones(2))
    Assert.True(isNull g)

/// An op whose backward rule is given by the test (Tensor.Record is what every op records with).
let private customOp (name: string) (x: Tensor) (y: Tensor) (backward: Tensor -> (Tensor | null) array) =
    Tensor.Record(name, y.Primal, [| x |], Func<Tensor, (Tensor | null) array>(backward))

[<Fact>]
let ``a backward rule that returns the wrong shape is an internal error naming the op and both shapes`` () =
    let x = Tensor.Ones(2)
    let e = Assert.Throws<InvalidOperationException>(fun () ->
        grad1 (fun t -> (customOp "badRule" t (t * 2f) (fun _ -> [| Tensor.Zeros(3) |> withNull |])).Sum()) x |> ignore)
    Assert.Equal("internal error: backward of 'badRule' gave shape [3] for an input of shape [2].", e.Message)

[<Fact>]
let ``a backward rule that returns null for a tracked input leaves it unreached`` () =
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    // The custom op passes nothing back, so only the direct term reaches x; the op below it (a mul
    // on the tape) gets no adjoint, and its rule is not run.
    let _, gs = gradN (fun ts -> (customOp "opaque" ts[0] (ts[0] * 2f) (fun _ -> [| null |])).Sum() + ts[1].Sum()) [| x; x |]
    Assert.True(isNull gs[0])
    Assert.Equal<float32[]>([| 1f; 1f |], (nonNull gs[1]).ToArray())
    let _, gs = gradN (fun ts -> (customOp "opaque" (ts[0] * ts[1]) (ts[0] * 2f) (fun _ -> [| null |])).Sum() + ts[1].Sum()) [| x; x |]
    Assert.True(isNull gs[0])
    Assert.Equal<float32[]>([| 1f; 1f |], (nonNull gs[1]).ToArray())

[<Fact>]
let ``each backward rule runs once, with the adjoint summed over all its uses`` () =
    // y = u + u·x where u = 3x: the mul node is reached once, the u node through two paths; a rule
    // that ran once per path (or with a partial adjoint) gives a different count or value.
    let calls = Collections.Generic.Dictionary<string, int>()
    let count name = calls[name] <- (match calls.TryGetValue name with | true, c -> c + 1 | _ -> 1)
    let x = Tensor.FromArray([| 1f; -2f |], 2)
    let _, g =
        grad1 (fun t ->
            let tripleRule (dy: Tensor) : (Tensor | null) array = count "triple"; [| dy * 3f |> withNull |]
            let identityRule (dy: Tensor) : (Tensor | null) array = count "identity"; [| dy |> withNull |]
            let u = customOp "triple" t (t * 3f) tripleRule
            let y = customOp "identity" u u identityRule
            (y + u * t).Sum()) x
    Assert.Equal(1, calls["triple"])
    Assert.Equal(1, calls["identity"])
    // d/dx (3x + 3x·x) = 3 + 6x
    Assert.Equal<float32[]>([| 9f; -9f |], (nonNull g).ToArray())

// ---------------------------------------------------------------- parameter trees

/// A small layer: two leaves.
type Layer =
    { Weight: Tensor; Bias: Tensor }
    interface IParameterTree<Layer> with
        member this.Flatten(w) = w.Leaf("weight", this.Weight); w.Leaf("bias", this.Bias)
        member this.Unflatten(r) = { Weight = r.Leaf(); Bias = r.Leaf() }

/// A model with a nested layer and an extra leaf the loss may or may not use.
type Model =
    { Enc: Layer; Scale: Tensor; Unused: Tensor }
    interface IParameterTree<Model> with
        member this.Flatten(w) = w.Child("enc", this.Enc); w.Leaf("scale", this.Scale); w.Leaf("unused", this.Unused)
        member this.Unflatten(r) = { Enc = r.Child(this.Enc); Scale = r.Leaf(); Unused = r.Leaf() }

let private model () =
    { Enc = { Weight = Tensor.FromArray([| 1f; 2f; 3f; 4f |], 2, 2); Bias = Tensor.FromArray([| 0.5f; -0.5f |], 2) }
      Scale = Tensor.Scalar 3f
      Unused = Tensor.Ones(3) }

let private input () = Tensor.FromArray([| 1f; -1f |], 1, 2)

let private loss (m: Model) = ((Tensor.MatMul(input (), m.Enc.Weight) + m.Enc.Bias) * m.Scale).Sum()

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``grad over a parameter tree returns gradients by leaf name, missing where unreached`` (backend: string) = onBackend backend <| fun () ->
    let m = model ()
    let struct (v, g) = Grad.ValueAndGrad(Func<Model, Tensor>(loss), m)
    // x·W = [1-3, 2-4] = [-2,-2]; + b = [-1.5,-2.5]; ·3 → sum = -12
    Assert.Equal(-12f, v.ToScalar())
    Assert.Equal<float32[]>([| 3f; 3f; -3f; -3f |], (nonNull g["enc.weight"]).ToArray())
    Assert.Equal<float32[]>([| 3f; 3f |], (nonNull g["enc.bias"]).ToArray())
    Assert.Equal(-4f, (nonNull g["scale"]).ToScalar())
    Assert.True(isNull g["unused"])  // missing where nothing reaches, not zeros
    Assert.Equal<string list>([ "enc.weight"; "enc.bias"; "scale"; "unused" ], List.ofSeq g.Names)
    Assert.Same(m, g.Parameters)
    let mutable got = null
    Assert.True(g.TryGet("scale", &got))
    Assert.False(g.TryGet("unused", &got))
    let e = Assert.Throws<ArgumentException>(fun () -> g["enc.nothing"] |> ignore)
    Assert.Contains("no leaf is called 'enc.nothing'; the leaves are enc.weight, enc.bias, scale, unused", e.Message)
    // Zeros where missing gives back a tree of the model's type.
    let filled = g.ZerosWhereMissing()
    Assert.Equal<float32[]>([| 0f; 0f; 0f |], filled.Unused.ToArray())
    Assert.Equal(-4f, filled.Scale.ToScalar())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``gradients check shapes and leaf counts against the parameters`` (backend: string) = onBackend backend <| fun () ->
    let m = model ()
    let e = Assert.Throws<ArgumentException>(fun () -> Gradients<Model>(m, [| null; null; null |]) |> ignore)
    Assert.Contains("Model has 4 leaves, got 3 gradients", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Gradients<Model>(m, [| Tensor.Zeros(4); null; null; null |]) |> ignore)
    Assert.Contains("the gradient of 'enc.weight' has shape [4], the parameter [2,2]", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``grad over a tree agrees with finite differences`` (backend: string) = onBackend backend <| fun () ->
    let m = model ()
    let struct (_, g) = Grad.ValueAndGrad(Func<Model, Tensor>(fun m -> tanh (loss m * 0.1f)), m)
    let leaves = Tree.Leaves(m) |> Seq.map (fun l -> l.Value) |> Seq.toArray
    let grads = g |> Seq.map (fun l -> l.Gradient) |> Seq.toArray
    Assert.True(isNull grads[3])
    // the same function as a function of the three reached leaves
    FiniteDiff.check (fun ts -> tanh (loss (Tree.FromLeaves(m, [| ts[0]; ts[1]; ts[2]; m.Unused |])) * 0.1f)) leaves[0..2]

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``valueAndGradWithAux returns the aux value`` (backend: string) = onBackend backend <| fun () ->
    let struct (v, aux, g) =
        Grad.ValueAndGradWithAux(Func<Model, struct (Tensor * string)>(fun m -> struct (loss m, "aux")), model ())
    Assert.Equal(-12f, v.ToScalar())
    Assert.Equal("aux", aux)
    Assert.Equal(-4f, (nonNull g["scale"]).ToScalar())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``reach lists the dotted leaf names and which are reached`` (backend: string) = onBackend backend <| fun () ->
    let reach = Grad.Reach(Func<Model, Tensor>(fun m -> (m.Enc.Bias * m.Scale.NoDiff()).Sum()), model ())
    let pairs = reach |> Seq.map (fun struct (n, r) -> n, r) |> Seq.toList
    Assert.Equal<(string * bool) list>([ "enc.weight", false; "enc.bias", true; "scale", false; "unused", false ], pairs)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``tree map, map2, leaves and global norm`` (backend: string) = onBackend backend <| fun () ->
    let m = model ()
    Assert.Equal<string list>([ "enc.weight"; "enc.bias"; "scale"; "unused" ], Tree.Leaves(m) |> Seq.map (fun l -> l.Name) |> Seq.toList)
    let doubled = Tree.Map(m, Func<Tensor, Tensor>(fun t -> t * 2f))
    Assert.Equal(6f, doubled.Scale.ToScalar())
    let summed = Tree.Map2(m, doubled, Func<Tensor, Tensor, Tensor>(fun a b -> a + b))
    Assert.Equal<float32[]>([| 3f; 6f; 9f; 12f |], summed.Enc.Weight.ToArray())
    // |W|² = 30, |b|² = 0.5, scale² = 9, unused = 3
    Assert.Equal(sqrt 42.5, Tree.GlobalNorm(m), 5)

[<Fact>]
let ``valueAndGrad names a null function, input list, input or tree, and a function that returns null`` () =
    let x = Tensor.Ones(2)
    Assert.Equal("f", nullArgumentOf (fun () -> Grad.ValueAndGrad(Unchecked.defaultof<Func<Tensor, Tensor>>, x)))
    Assert.Equal("f", nullArgumentOf (fun () -> Grad.ValueAndGrad(Unchecked.defaultof<Func<Tensor[], Tensor>>, [| x |])))
    Assert.Equal("xs", nullArgumentOf (fun () -> Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> ts[0].Sum()), Unchecked.defaultof<Tensor[]>)))
    Assert.Equal("f", nullArgumentOf (fun () -> Grad.ValueAndGrad(Unchecked.defaultof<Func<Model, Tensor>>, model ())))
    Assert.Equal("f", nullArgumentOf (fun () -> Grad.ValueAndGradWithAux(Unchecked.defaultof<Func<Model, struct (Tensor * int)>>, model ())))
    Assert.Equal("tree", nullArgumentOf (fun () -> Grad.ValueAndGradWithAux(Func<Model, struct (Tensor * int)>(fun m -> struct (m.Scale, 0)), Unchecked.defaultof<Model>)))
    let e = Assert.Throws<ArgumentNullException>(fun () -> Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> ts[0].Sum()), [| x; Unchecked.defaultof<Tensor> |]) |> ignore)
    Assert.Equal("xs", e.ParamName)
    Assert.StartsWith("valueAndGrad: input 1 is null.", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> Grad.ValueAndGrad(Func<Tensor, Tensor>(fun _ -> Unchecked.defaultof<Tensor>), x) |> ignore)
    Assert.Equal("valueAndGrad: the function returned null.", e.Message)
