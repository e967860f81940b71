/// Finite-difference properties of Conv2d and ConvTranspose2d with respect to input, weight and bias,
/// over random stride 1–3, padding 0–2, dilation 1–2, output padding, non-square kernels, with and
/// without bias; and their forward values against naive loops written from the definitions.
module VqVae.Tensors.Tests.ConvGradTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

let private assertClose (expected: float[]) (actual: float32[]) =
    Array.iteri2 (fun i (e: float) (v: float32) ->
        if abs (e - float v) > 1e-5 * (1.0 + abs e) then failwithf "element %d: expected %g, got %g" i e v) expected actual

let private convInputs (c: ConvCase) =
    let x = uniform c.Seed 0 -1f 1f [| c.N; c.Cin; c.H; c.W |]
    let w = uniform c.Seed 1 -1f 1f [| c.Cout; c.Cin; c.Kh; c.Kw |]
    let b = uniform c.Seed 2 -1f 1f [| c.Cout |]
    x, w, b

let private conv (c: ConvCase) (x: Tensor) (w: Tensor) (b: Tensor option) =
    Tensor.Conv2d(x, w, Option.toObj b, c.Sh, c.Sw, c.Ph, c.Pw, c.Dh, c.Dw)

/// y[n,o,i,j] = b[o] + Σ x[n,c,i·s−p+k·d, …]·w[o,c,k,l], out-of-range input reads as 0.
let private convReference (c: ConvCase) (x: Tensor) (w: Tensor) (b: Tensor option) =
    let ho, wo = c.Ho, c.Wo
    Array.init (c.N * c.Cout * ho * wo) (fun f ->
        let j = f % wo
        let i = (f / wo) % ho
        let o = (f / (wo * ho)) % c.Cout
        let nn = f / (wo * ho * c.Cout)
        let mutable s = match b with Some b -> float b[o] | None -> 0.0
        for ci in 0 .. c.Cin - 1 do
            for k in 0 .. c.Kh - 1 do
                for l in 0 .. c.Kw - 1 do
                    let r = i * c.Sh - c.Ph + k * c.Dh
                    let q = j * c.Sw - c.Pw + l * c.Dw
                    if r >= 0 && r < c.H && q >= 0 && q < c.W then
                        s <- s + float x[nn, ci, r, q] * float w[o, ci, k, l]
        s)

[<PropertyTest(40)>]
let ``conv2d gradient w.r.t. input, weight and bias`` (c: ConvCase) = onEveryBackend <| fun () ->
    let x, w, b = convInputs c
    if c.Bias then FiniteDiff.check (fun ts -> conv c ts[0] ts[1] (Some ts[2])) [| x; w; b |]
    else FiniteDiff.check (fun ts -> conv c ts[0] ts[1] None) [| x; w |]

[<PropertyTest(20)>]
let ``conv2d gradient with only the input or only the weight tracked`` (c: ConvCase) = onEveryBackend <| fun () ->
    let x, w, b = convInputs c
    let b = if c.Bias then Some b else None
    FiniteDiff.check1 (fun t -> conv c t w b) x
    FiniteDiff.check1 (fun t -> conv c x t b) w

[<PropertyTest(20)>]
let ``conv2d square overload gradient`` (c: ConvCase) = onEveryBackend <| fun () ->
    let c = { c with Sw = c.Sh; Pw = c.Ph; Dw = c.Dh; W = max c.W (c.Dh * (c.Kw - 1) + 1) }
    let x, w, b = convInputs c
    FiniteDiff.check (fun ts -> Tensor.Conv2d(ts[0], ts[1], ts[2], stride = c.Sh, padding = c.Ph, dilation = c.Dh)) [| x; w; b |]

[<PropertyTest(40)>]
let ``conv2d values match a naive loop`` (c: ConvCase) = onEveryBackend <| fun () ->
    let x, w, b = convInputs c
    let b = if c.Bias then Some b else None
    let y = conv c x w b
    Assert.Equal<int[]>([| c.N; c.Cout; c.Ho; c.Wo |], y.Shape)
    let expected = convReference c x w b
    assertClose expected (y.ToArray())

// ---------------------------------------------------------------- transposed

let private convTInputs (c: ConvTCase) =
    let x = uniform c.Seed 0 -1f 1f [| c.N; c.Cin; c.H; c.W |]
    let w = uniform c.Seed 1 -1f 1f [| c.Cin; c.Cout; c.Kh; c.Kw |]
    let b = uniform c.Seed 2 -1f 1f [| c.Cout |]
    x, w, b

let private convT (c: ConvTCase) (x: Tensor) (w: Tensor) (b: Tensor option) =
    Tensor.ConvTranspose2d(x, w, Option.toObj b, c.Sh, c.Sw, c.Ph, c.Pw, c.Oph, c.Opw, c.Dh, c.Dw)

/// Scatter form: x[n,c,i,j]·w[c,o,k,l] lands on y[n,o,i·s−p+k·d, j·s−p+l·d] when that is inside the output.
let private convTReference (c: ConvTCase) (x: Tensor) (w: Tensor) (b: Tensor option) =
    let ho, wo = c.Ho, c.Wo
    let y = Array.zeroCreate<float> (c.N * c.Cout * ho * wo)
    for nn in 0 .. c.N - 1 do
        for ci in 0 .. c.Cin - 1 do
            for i in 0 .. c.H - 1 do
                for j in 0 .. c.W - 1 do
                    for o in 0 .. c.Cout - 1 do
                        for k in 0 .. c.Kh - 1 do
                            for l in 0 .. c.Kw - 1 do
                                let r = i * c.Sh - c.Ph + k * c.Dh
                                let q = j * c.Sw - c.Pw + l * c.Dw
                                if r >= 0 && r < ho && q >= 0 && q < wo then
                                    let at = ((nn * c.Cout + o) * ho + r) * wo + q
                                    y[at] <- y[at] + float x[nn, ci, i, j] * float w[ci, o, k, l]
    match b with
    | Some b -> y |> Array.mapi (fun f v -> v + float b[(f / (ho * wo)) % c.Cout])
    | None -> y

[<PropertyTest(40)>]
let ``convTranspose2d gradient w.r.t. input, weight and bias`` (c: ConvTCase) = onEveryBackend <| fun () ->
    let x, w, b = convTInputs c
    if c.Bias then FiniteDiff.check (fun ts -> convT c ts[0] ts[1] (Some ts[2])) [| x; w; b |]
    else FiniteDiff.check (fun ts -> convT c ts[0] ts[1] None) [| x; w |]

[<PropertyTest(20)>]
let ``convTranspose2d gradient with only the input or only the weight tracked`` (c: ConvTCase) = onEveryBackend <| fun () ->
    let x, w, b = convTInputs c
    let b = if c.Bias then Some b else None
    FiniteDiff.check1 (fun t -> convT c t w b) x
    FiniteDiff.check1 (fun t -> convT c x t b) w

[<PropertyTest(20)>]
let ``convTranspose2d square overload gradient`` (c: ConvTCase) = onEveryBackend <| fun () ->
    let op = min c.Oph (max c.Sh c.Dh - 1)
    let c = { c with Sw = c.Sh; Pw = c.Ph; Dw = c.Dh; Oph = op; Opw = op }
    if c.Valid then
        let x, w, b = convTInputs c
        FiniteDiff.check (fun ts -> Tensor.ConvTranspose2d(ts[0], ts[1], ts[2], stride = c.Sh, padding = c.Ph, outputPadding = op, dilation = c.Dh)) [| x; w; b |]

[<PropertyTest(40)>]
let ``convTranspose2d values match a naive loop`` (c: ConvTCase) = onEveryBackend <| fun () ->
    let x, w, b = convTInputs c
    let b = if c.Bias then Some b else None
    let y = convT c x w b
    Assert.Equal<int[]>([| c.N; c.Cout; c.Ho; c.Wo |], y.Shape)
    let expected = convTReference c x w b
    assertClose expected (y.ToArray())

/// Each gradient alone: the input's with the weight held constant and the weight's and bias's with the input
/// constant. On libtorch the taped forward pass then hands back a missing gradient for the constant side; the
/// parts must equal those of the pass that tracks everything, on every backend.
[<Theory>]
[<MemberData(nameof Backends.All, MemberType = typeof<Backends>)>]
let ``a convolution's gradients taken one side at a time equal those of the full pass`` (backend: string) =
    onBackend backend (fun () ->
        let x = Tensor.Uniform(Rng.Seed 1L, -1f, 1f, 2, 3, 5, 5)
        let w = Tensor.Uniform(Rng.Seed 2L, -1f, 1f, 4, 3, 3, 3)
        let wt = Tensor.Uniform(Rng.Seed 3L, -1f, 1f, 3, 4, 3, 3)
        let b = Tensor.Uniform(Rng.Seed 4L, -1f, 1f, 4)
        let r = Tensor.Uniform(Rng.Seed 5L, -1f, 1f, 2, 4, 5, 5)
        let rt = Tensor.Uniform(Rng.Seed 6L, -1f, 1f, 2, 4, 9, 9)
        let cases : (string * (Tensor -> Tensor -> Tensor -> Tensor) * Tensor * Tensor) list =
            [ "conv2d", (fun x w b -> (Tensor.Conv2d(x, w, b, padding = 1) * r).Sum()), x, w
              "convTranspose2d", (fun x w b -> (Tensor.ConvTranspose2d(x, w, b, stride = 2, padding = 1) * rt).Sum()), x, wt ]
        for name, loss, x, w in cases do
            let struct (_, all) = Grad.ValueAndGrad(System.Func<Tensor[], Tensor>(fun t -> loss t[0] t[1] t[2]), [| x; w; b |])
            let values (t: Tensor | null) = (nonNull t).ToArray()
            let struct (_, dx) = Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun x -> loss x w b), x)
            let struct (_, dw) = Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun w -> loss x w b), w)
            let struct (_, db) = Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun b -> loss x w b), b)
            for part, alone, full in [ "input", dx, all[0]; "weight", dw, all[1]; "bias", db, all[2] ] do
                let a, f = values alone, values full
                Assert.True(Array.forall2 (fun (p: float32) q -> abs (p - q) <= 1e-5f * (1f + abs q)) a f, $"{name} {part} gradient alone differs from the full pass's")
            // The bias does not enter the weight's gradient: without one it is the same.
            let struct (_, dwNoBias) = Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun w -> loss x w (Unchecked.defaultof<Tensor>)), w)
            Assert.True(Array.forall2 (fun (p: float32) q -> abs (p - q) <= 1e-5f * (1f + abs q)) (values dwNoBias) (values dw), $"{name}: the bias changed the weight's gradient"))
