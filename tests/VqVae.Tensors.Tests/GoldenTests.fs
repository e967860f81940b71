/// Golden tests against PyTorch 1.13 (tests/fixtures, documented in its README): conv2d and
/// conv_transpose2d values and gradients of sum(y·gy) for every case, row gather and its
/// scatter-add gradient, and the quantizer's distances, argmin (tie → lower index) and gradients.
module VqVae.Tensors.Tests.GoldenTests

open System
open System.IO
open System.Text.Json
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.IO

let private load name = SafeTensors.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", name))

let private tensor (f: SafeTensorsFile) key =
    let e = f[key]
    Tensor.FromArray(e.Data, e.Shape)

/// |actual − expected| ≤ rel·max|expected| + a small atol, element by element (shared with the prior-op goldens).
let assertMatchesWithin (rel: float32) (what: string) (expected: Tensor) (actual: Tensor | null) =
    let actual =
        match actual with
        | null -> failwithf "%s: no gradient (null)" what
        | a -> a
    Assert.True((expected.Shape = actual.Shape), $"{what}: shape {ShapeUtil.Format(actual.Shape)}, expected {ShapeUtil.Format(expected.Shape)}")
    let e, a = expected.ToArray(), actual.ToArray()
    let scale = if e.Length = 0 then 0f else e |> Array.map abs |> Array.max
    let tol = rel * scale + 1e-6f
    for i in 0 .. e.Length - 1 do
        if abs (e[i] - a[i]) > tol then
            failwithf "%s: element %d is %g, PyTorch has %g (tolerance %g)" what i a[i] e[i] tol

/// Per the fixtures README: within 1e-5·max|expected| + a small atol.
let private assertMatches (what: string) (expected: Tensor) (actual: Tensor | null) = assertMatchesWithin 1e-5f what expected actual

/// A case's hyper-parameters from the file's metadata (pairs are [height, width]).
type ConvMeta = { Stride: int[]; Padding: int[]; Dilation: int[]; OutputPadding: int[]; Bias: bool }

let private meta (f: SafeTensorsFile) (case: int) =
    use doc = JsonDocument.Parse(f.Metadata[$"case{case}"])
    let root = doc.RootElement
    let pair (name: string) =
        match root.TryGetProperty(name) with
        | true, v -> v.EnumerateArray() |> Seq.map (fun e -> e.GetInt32()) |> Seq.toArray
        | _ -> [| 0; 0 |]
    { Stride = pair "stride"; Padding = pair "padding"; Dilation = pair "dilation"
      OutputPadding = pair "output_padding"; Bias = root.GetProperty("bias").GetBoolean() }

let private convCase (file: string) (case: int) (op: Tensor -> Tensor -> (Tensor | null) -> ConvMeta -> Tensor) =
    let f = load file
    let m = meta f case
    let k = sprintf "case%d/%s" case
    let x, w, gy = tensor f (k "x"), tensor f (k "w"), tensor f (k "gy")
    let ys = f.Contains(k "b")
    Assert.Equal(m.Bias, ys)
    // value
    let b = tensor f (if m.Bias then k "b" else k "y") // the second is never used
    assertMatches (k "y") (tensor f (k "y")) (op x w (if m.Bias then b else null) m)
    // gradients of sum(y·gy)
    let inputs = if m.Bias then [| x; w; b |] else [| x; w |]
    let struct (_, g) =
        Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (op ts[0] ts[1] (if m.Bias then ts[2] else null) m * gy).Sum()), inputs)
    assertMatches (k "gx") (tensor f (k "gx")) g[0]
    assertMatches (k "gw") (tensor f (k "gw")) g[1]
    if m.Bias then assertMatches (k "gb") (tensor f (k "gb")) g[2]

[<Theory>]
[<InlineData 0>] [<InlineData 1>] [<InlineData 2>] [<InlineData 3>]
[<InlineData 4>] [<InlineData 5>] [<InlineData 6>] [<InlineData 7>]
let ``conv2d matches PyTorch`` (case: int) =
    convCase "conv2d.safetensors" case (fun x w b m ->
        Tensor.Conv2d(x, w, b, m.Stride[0], m.Stride[1], m.Padding[0], m.Padding[1], m.Dilation[0], m.Dilation[1]))

[<Theory>]
[<InlineData 0>] [<InlineData 1>] [<InlineData 2>] [<InlineData 3>]
[<InlineData 4>] [<InlineData 5>] [<InlineData 6>] [<InlineData 7>]
let ``convTranspose2d matches PyTorch`` (case: int) =
    convCase "conv_transpose2d.safetensors" case (fun x w b m ->
        let op = m.OutputPadding
        Tensor.ConvTranspose2d(x, w, b, m.Stride[0], m.Stride[1], m.Padding[0], m.Padding[1], op[0], op[1], m.Dilation[0], m.Dilation[1]))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the fixture files hold 8 cases each`` (backend: string) = onBackend backend <| fun () ->
    Assert.Equal("8", (load "conv2d.safetensors").Metadata["count"])
    Assert.Equal("8", (load "conv_transpose2d.safetensors").Metadata["count"])

let private indicesOf (t: Tensor) = t.ToArray() |> Array.map (fun v -> int (MathF.Round v))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``gather rows and scatter-add gradient match PyTorch`` (backend: string) = onBackend backend <| fun () ->
    let f = load "gather.safetensors"
    let table, gy = tensor f "table", tensor f "gy"
    let idx = indicesOf (tensor f "indices")
    Assert.Equal<int[]>([| 2; 0; 5; 2; 3; 2; 1; 5; 4; 0 |], idx)
    assertMatches "rows" (tensor f "rows") (table.GatherRows idx)
    let struct (_, g) = Grad.ValueAndGrad(Func<Tensor, Tensor>(fun t -> (t.GatherRows(idx) * gy).Sum()), table)
    assertMatches "gtable" (tensor f "gtable") g
    // row 6 is never gathered: exactly zero
    Assert.Equal<float32[]>([| 0f; 0f; 0f |], (nonNull g).ToArray()[18..20])

/// ‖z‖² + ‖e‖² − 2 z·eᵀ, the way the quantizer computes it.
let private distances (z: Tensor) (e: Tensor) =
    let k = e.Shape[0]
    (z * z).Sum(1, true) + (e * e).Sum(1).Reshape(1, k) - 2f * Tensor.MatMulT(z, e, false, true)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``distances and their gradients match PyTorch`` (backend: string) = onBackend backend <| fun () ->
    let f = load "distance_argmin.safetensors"
    let z, e, g = tensor f "z", tensor f "codebook", tensor f "g"
    assertMatches "dist" (tensor f "dist") (distances z e)
    let struct (_, gs) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (distances ts[0] ts[1] * g).Sum()), [| z; e |])
    assertMatches "gz" (tensor f "gz") gs[0]
    assertMatches "gcodebook" (tensor f "gcodebook") gs[1]

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``argMinRows and nearestRows match PyTorch, tie to the lower index`` (backend: string) = onBackend backend <| fun () ->
    let f = load "distance_argmin.safetensors"
    let z, e = tensor f "z", tensor f "codebook"
    let expected = indicesOf (tensor f "indices")
    use tie = JsonDocument.Parse(f.Metadata["tie"])
    let row = tie.RootElement.GetProperty("row").GetInt32()
    let want = tie.RootElement.GetProperty("expected").GetInt32()
    Assert.Equal(4, want)
    Assert.Equal(want, expected[row])
    // the tie is exact in our engine too
    let d = distances z e
    Assert.Equal(d[row, 4], d[row, 9])
    Assert.Equal<int[]>(expected, d.ArgMinRows())
    Assert.Equal<int[]>(expected, z.NearestRows(e))
