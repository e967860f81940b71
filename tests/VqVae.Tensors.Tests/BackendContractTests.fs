/// The backend seam's rules as a backend author and a user rely on them: which backend Default answers (a Use
/// scope, else the process-wide setting, else cpu) and that scopes restore exactly once; the registry (refusals by
/// name, Registered's order, the unknown-name error listing every name, a factory made once and told the thread
/// count); Threads' refusal and its reach to every made backend; CheckSame. Then RawTensor's default
/// implementations, which the cpu backend overrides: a test double that forwards only the abstract primitives
/// reaches them, and each is checked against an independent computation. Runs in the "Tensor globals"
/// collection (alone), since it sets the default backend, the registry and the thread count.
namespace VqVae.Tensors.Tests

open System
open System.Reflection
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Backends
open VqVae.Tensors.Tests.Refusals

/// A raw tensor on a test backend that forwards every abstract primitive to a cpu raw tensor (unwrapping
/// operands, wrapping results) and overrides nothing virtual: RawTensor's defaults run.
type WrappedRaw(inner: RawTensor, backend: Backend) =
    inherit RawTensor()
    static let un (t: RawTensor) = match t with :? WrappedRaw as w -> w.Inner | _ -> t
    member _.Inner = inner
    member private _.Wrap(t: RawTensor) = WrappedRaw(t, backend) :> RawTensor
    override _.Backend = backend
    override _.Shape = inner.Shape
    override _.Length = inner.Length
    override _.ToArray() = inner.ToArray()
    override _.At(i) = inner.At(i)
    override this.Binary(op, other) = this.Wrap(inner.Binary(op, un other))
    override this.BinaryScalar(op, s, left) = this.Wrap(inner.BinaryScalar(op, s, left))
    override this.Unary(op) = this.Wrap(inner.Unary(op))
    override this.Clamp(lo, hi) = this.Wrap(inner.Clamp(lo, hi))
    override this.InRange(lo, hi) = this.Wrap(inner.InRange(lo, hi))
    override this.Sum(dims, keepDim) = this.Wrap(inner.Sum(dims, keepDim))
    override this.Expand(shape) = this.Wrap(inner.Expand(shape))
    override this.Reshape(shape) = this.Wrap(inner.Reshape(shape))
    override this.Permute(perm) = this.Wrap(inner.Permute(perm))
    override this.MatMul(b, ta, tb) = this.Wrap(inner.MatMul(un b, ta, tb))
    override this.Conv2d(w, b, g) = this.Wrap(inner.Conv2d(un w, (match b with null -> null | b -> un b), g))
    override this.Conv2dBackwardInput(w, g) = this.Wrap(inner.Conv2dBackwardInput(un w, g))
    override this.Conv2dBackwardWeight(dy, g) = this.Wrap(inner.Conv2dBackwardWeight(un dy, g))
    override this.GatherRows(idx) = this.Wrap(inner.GatherRows(idx))
    override this.ScatterAddRows(idx, rows) = this.Wrap(inner.ScatterAddRows(idx, rows))
    override _.ArgMinRows() = inner.ArgMinRows()
    override _.NearestRows(cb) = inner.NearestRows(un cb)
    override this.OneHot(idx, k) = this.Wrap(inner.OneHot(idx, k))
    override this.Narrow0(start, count) = this.Wrap(inner.Narrow0(start, count))
    override this.Cat0(parts) = this.Wrap(inner.Cat0([| for p in parts -> un p |]))
    override _.HasNonFinite() = inner.HasNonFinite()

/// A backend whose tensors are WrappedRaw; it records the thread counts it is told.
type FakeBackend(name: string) =
    inherit Backend()
    let applied = ResizeArray<int>()
    member _.Applied = List.ofSeq applied
    override _.Name = name
    override this.Create(data, shape) = WrappedRaw(Backend.Cpu.Create(data, shape), this) :> RawTensor
    override _.ApplyThreads(count) = applied.Add count

[<Collection("Tensor globals")>]
module BackendContractTests =

    /// Removes a test's names from the registry (there is no public way to: registration is for backend assemblies).
    let private forget (names: string list) =
        for field in [ "factories"; "made" ] do
            let f = nonNull (typeof<Backend>.GetField(field, BindingFlags.NonPublic ||| BindingFlags.Static))
            let d = nonNull (f.GetValue null) :?> Collections.IDictionary
            for n in names do d.Remove n

    let private wrapped (backend: Backend) (data: float32[]) (shape: int[]) = backend.Create(data, shape)

    // ------------------------------------------------------------------ Default and Use

    [<Fact>]
    let ``Default is the Use scope's backend, else the process-wide setting, else cpu`` () =
        let set, scoped = FakeBackend "fake-set", FakeBackend "fake-scoped"
        let saved = Backend.Default
        Assert.Same(Backend.Cpu, saved)
        try
            Backend.Default <- set
            Assert.Same(set, Backend.Default)
            Assert.Same(set, Tensor.Zeros(2).Backend)
            let s = Backend.Use scoped
            Assert.Same(scoped, Backend.Default)
            s.Dispose()
            Assert.Same(set, Backend.Default)
        finally Backend.Default <- saved
        Assert.Same(Backend.Cpu, Backend.Default)

    [<Fact>]
    let ``Default and Use refuse a null backend by name`` () =
        refusedAs<ArgumentNullException> "value" "backend: Default cannot be null." (fun () -> (Backend.Default <- Unchecked.defaultof<Backend>); obj ()) |> ignore
        Assert.Same(Backend.Cpu, Backend.Default)
        Assert.Equal("backend", nullArgumentOf (fun () -> Backend.Use(Unchecked.defaultof<Backend>)))
        Assert.Same(Backend.Cpu, Backend.Default)

    [<Fact>]
    let ``a Use scope restores the outer default once: a second Dispose does not undo a later scope`` () =
        let a, b = FakeBackend "fake-a", FakeBackend "fake-b"
        let outer = Backend.Default
        let s1 = Backend.Use a
        Assert.Same(a, Backend.Default)
        s1.Dispose()
        Assert.Same(outer, Backend.Default)
        let s2 = Backend.Use b
        try
            s1.Dispose()
            Assert.Same(b, Backend.Default)
        finally s2.Dispose()
        Assert.Same(outer, Backend.Default)

    // ------------------------------------------------------------------ Threads

    [<Fact>]
    let ``Threads refuses below one with its own message and the value`` () =
        let saved = Backend.Threads
        let e = refusedAs<ArgumentOutOfRangeException> "value" "backend: Threads must be at least 1." (fun () -> (Backend.Threads <- 0); obj ())
        Assert.Equal(box 0, nonNull e.ActualValue)
        Assert.Equal(saved, Backend.Threads)

    [<Fact>]
    let ``a registered backend is made once, on first Get, told the thread count then and at every change`` () =
        let saved = Backend.Threads
        let fake = FakeBackend "fake-threads"
        let mutable made = 0
        Backend.Register("fake-threads", fun () -> made <- made + 1; fake :> Backend)
        try
            Assert.Equal(0, made)
            Assert.Same(fake, Backend.Get "fake-threads")
            Assert.Equal<int list>([ saved ], fake.Applied)
            Backend.Threads <- 1
            Assert.Equal(1, Backend.Threads)
            Assert.Equal(1, VqVae.Tensors.Backends.Cpu.Threading.Threads)
            Assert.Equal<int list>([ saved; 1 ], fake.Applied)
            Assert.Same(fake, Backend.Get "FAKE-THREADS")
            Assert.Equal(1, made)
        finally
            Backend.Threads <- saved
            forget [ "fake-threads" ]

    // ------------------------------------------------------------------ the registry

    [<Fact>]
    let ``Register and Get refuse a missing name by name, Register a missing factory`` () =
        let f = Func<Backend>(fun () -> FakeBackend "never" :> Backend)
        try
            Assert.Equal("name", nullArgumentOf (fun () -> Backend.Register(Unchecked.defaultof<string>, f)))
            refusedNaming "name" [] (fun () -> Backend.Register("  ", f)) |> ignore
            Assert.Equal("factory", nullArgumentOf (fun () -> Backend.Register("fake-no-factory", Unchecked.defaultof<Func<Backend>>)))
            Assert.Equal("name", nullArgumentOf (fun () -> Backend.Get(Unchecked.defaultof<string>)))
            refusedNaming "name" [] (fun () -> Backend.Get " ") |> ignore
            Assert.DoesNotContain("fake-no-factory", Backend.Registered)
        finally forget [ "  "; "fake-no-factory" ]

    [<Fact>]
    let ``Registered lists cpu first, then the registered names in ordinal order`` () =
        let f = Func<Backend>(fun () -> FakeBackend "never" :> Backend)
        Backend.Register("fake-zb", f)
        Backend.Register("fake-za", f)
        try
            let r = List.ofSeq Backend.Registered
            Assert.Equal("cpu", List.head r)
            Assert.Equal<string list>(List.sortWith (fun a b -> String.CompareOrdinal(a, b)) (List.tail r), List.tail r)
            let ia, ib = List.findIndex ((=) "fake-za") r, List.findIndex ((=) "fake-zb") r
            Assert.True(ia < ib)
        finally forget [ "fake-za"; "fake-zb" ]

    [<Fact>]
    let ``an unknown backend is refused by name, listing every name Get accepts`` () =
        let names = Seq.append Backend.Registered [ "torch"; "cuda" ] |> Seq.distinct |> String.concat ", "
        refusedAs<ArgumentException> "name" $"backend: unknown backend 'tpu'; expected one of {names}." (fun () -> Backend.Get "tpu") |> ignore

    // ------------------------------------------------------------------ CheckSame

    [<Fact>]
    let ``CheckSame refuses null operands by name and operands on two backends naming both`` () =
        let fake = FakeBackend "fake-check"
        let x = Backend.Cpu.Create([| 1f; 2f |], [| 2 |])
        let y = wrapped fake [| 1f; 2f |] [| 2 |]
        Assert.Equal("self", nullArgumentOf (fun () -> Backend.CheckSame("add", Unchecked.defaultof<RawTensor>, x)))
        Assert.Equal("other", nullArgumentOf (fun () -> Backend.CheckSame("add", x, Unchecked.defaultof<RawTensor>)))
        Backend.CheckSame("add", y, wrapped fake [| 3f |] [| 1 |])
        let e = Assert.Throws<ArgumentException>(fun () -> Backend.CheckSame("add", x, y))
        Assert.Equal("add: the operands are on different backends, cpu and fake-check; move one with Tensor.To(backend) (or a model with Tree.To).", e.Message)

    [<Fact>]
    let ``a cpu op refuses an operand of another backend with CheckSame's message, naming the op`` () =
        let x = Backend.Cpu.Create([| 1f; 2f |], [| 2 |])
        let y = wrapped (FakeBackend "fake-operand") [| 1f; 2f |] [| 2 |]
        let e = Assert.Throws<ArgumentException>(fun () -> x.Binary(BinaryOp.Add, y) |> ignore)
        Assert.Equal("Binary: the operands are on different backends, cpu and fake-operand; move one with Tensor.To(backend) (or a model with Tree.To).", e.Message)

    [<Fact>]
    let ``a libtorch convolution's backward refuses an output gradient of another backend with CheckSame's message`` () =
        let torch = Backend.Get "torch"
        let g = ConvGeometry(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2)
        let x = torch.Create(Array.init 9 float32, [| 1; 1; 3; 3 |])
        let w = torch.Create([| 1f; 2f; 3f; 4f |], [| 1; 1; 2; 2 |])
        let backward =
            match x.Conv2dTaped(w, null, g, true, true) with
            | struct (_, NonNull b) -> b
            | _ -> failwith "a taped convolution asked for gradients records its backward"
        let cpuDy = Backend.Cpu.Create(Array.create 4 1f, [| 1; 1; 2; 2 |])
        let e = Assert.Throws<ArgumentException>(fun () -> backward.Run cpuDy |> ignore)
        Assert.Equal("conv backward: the operands are on different backends, torch and cpu; move one with Tensor.To(backend) (or a model with Tree.To).", e.Message)
        Assert.Equal("dy", nullArgumentOf (fun () -> backward.Run(Unchecked.defaultof<RawTensor>) |> ignore))
        // A gradient of its own backend passes: dx is the kernel summed over the windows each input pixel is in.
        match backward.Run(torch.Create(Array.create 4 1f, [| 1; 1; 2; 2 |])) with
        | struct (NonNull dx, NonNull dw) ->
            Assert.Equal<float32[]>([| 1f; 3f; 2f; 4f; 10f; 6f; 3f; 7f; 4f |], dx.ToArray())
            Assert.Equal<float32[]>([| 8f; 12f; 20f; 24f |], dw.ToArray())
        | _ -> failwith "both gradients were asked for"

    // ------------------------------------------------------------------ RawTensor's defaults

    let private fake = FakeBackend "fake-raw"
    let private bitsOf (a: float32[]) = a |> Array.map BitConverter.SingleToInt32Bits

    [<Fact>]
    let ``a backend without scoped storage is never arena storage, and Keep passes its tensors through`` () =
        let w = wrapped fake [| 1f; 2f; 3f |] [| 3 |]
        Assert.False(w.IsScoped)
        Assert.Same(w, w.Unscoped())
        let t = Tensor.OfRaw w
        use _ = TensorArena.Begin()
        Assert.False(TensorArena.IsArenaStorage t)
        Assert.Same(t, TensorArena.Keep t)

    [<Fact>]
    let ``the default sum of squares is the sum of each value squared, in double`` () =
        let xs = [| 1.5f; -2f; 3f; 0.1f; -1e-3f |]
        let expected = xs |> Array.sumBy (fun v -> float v * float v)
        Assert.Equal(expected, (wrapped fake xs [| 5 |]).SumOfSquares())

    [<Fact>]
    let ``the default sigmoid backward is dy times y times one minus y, bit for bit`` () =
        let ys = [| 0.1f; 0.5f; 0.9f; 0.25f |]
        let dys = [| 1f; -2f; 0.5f; 3f |]
        let got = (wrapped fake dys [| 4 |]).SigmoidBackward(wrapped fake ys [| 4 |]).ToArray()
        let expected = Array.map2 (fun (dy: float32) (y: float32) -> dy * y * (1f - y)) dys ys
        Assert.Equal<int[]>(bitsOf expected, bitsOf got)

    [<Fact>]
    let ``the default transposed convolution adds the bias per channel, and nothing without one`` () =
        let rng = Rng.Seed(71L)
        let x = Tensor.Uniform(rng.Fold 0L, -1f, 1f, 2, 3, 4, 4)
        let w = Tensor.Uniform(rng.Fold 1L, -1f, 1f, 3, 2, 3, 3)
        let b = Tensor.FromArray([| 10f; -20f |], 2)
        let g = ConvChecks.Transposed(x, w, b, 2, 2, 1, 1, 1, 1, 1, 1)
        let onFake (t: Tensor) = wrapped fake (t.ToArray()) (Array.copy t.Shape)
        for bias in [ Some b; None ] do
            let cpuBias: RawTensor | null = match bias with Some b -> b.Raw | None -> null
            let fakeBias: RawTensor | null = match bias with Some b -> onFake b | None -> null
            let cpu = x.Raw.ConvTranspose2d(w.Raw, cpuBias, g).ToArray()
            let viaDefault = (onFake x).ConvTranspose2d(onFake w, fakeBias, g).ToArray()
            Assert.Equal(cpu.Length, viaDefault.Length)
            Array.iteri2 (fun i (c: float32) (d: float32) -> Assert.True(abs (c - d) <= 1e-5f, $"element {i}: {d}, expected {c}")) cpu viaDefault

    [<Fact>]
    let ``the default Adam step follows PyTorch's formula, with and without weight decay`` () =
        let ps = [| 0.5f; -1f; 2f; 0.1f |]
        let gs = [| 0.2f; -0.4f; 1f; -3f |]
        let ms = [| 0.05f; 0.1f; -0.2f; 0f |]
        let vs = [| 0.01f; 0.2f; 0.04f; 1f |]
        let lr, b1, b2, eps = 0.01f, 0.8f, 0.9f, 1e-3f
        let bc1, sqrtBc2 = 0.36f, 0.5f // step 2 of β₁ = 0.8; a √bc₂ away from 1
        for wd in [ 0f; 0.5f ] do
            let expected =
                Array.init 4 (fun i ->
                    let g = gs[i] + wd * ps[i]
                    let m = b1 * ms[i] + (1f - b1) * g
                    let v = b2 * vs[i] + (1f - b2) * g * g
                    let p = ps[i] - (m / (sqrt v / sqrtBc2 + eps)) * (lr / bc1)
                    p, m, v)
            let on a = wrapped fake a [| 4 |]
            let struct (rp, rm, rv) = (on ps).AdamUpdate(on gs, on ms, on vs, lr, b1, b2, eps, wd, bc1, sqrtBc2)
            let p, m, v = rp.ToArray(), rm.ToArray(), rv.ToArray()
            for i in 0 .. 3 do
                let ep, em, ev = expected[i]
                for (name, e, got) in [ "p", ep, p[i]; "m", em, m[i]; "v", ev, v[i] ] do
                    Assert.True(abs (e - got) <= 1e-6f * (1f + abs e), $"weight decay {wd}, {name}[{i}]: {got}, expected {e}")
