/// Naive double-precision reference loops for the raw CPU kernels, and shared test helpers.
module VqVae.Tensors.Tests.KernelsReference

open System
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu

/// Uniform values in [-1, 1) from a seeded generator.
let randomArray (seed: int) (length: int) =
    let r = Random(seed)
    Array.init length (fun _ -> float32 (r.NextDouble() * 2.0 - 1.0))

/// op(A)[i,p] for row-major storage.
let inline opAt (trans: bool) (a: float32[]) (ld: int) (i: int) (p: int) =
    if trans then a.[p * ld + i] else a.[i * ld + p]

/// C = alpha·op(A)·op(B) + beta·C in double; also returns |alpha|·Σ|a·b| + |beta·c| per element (error scale).
let gemmRef transA transB m n k (alpha: float32) (a: float32[]) lda (b: float32[]) ldb (beta: float32) (c: float32[]) ldc =
    let value = Array2D.zeroCreate<float> m n
    let scale = Array2D.zeroCreate<float> m n
    for i in 0 .. m - 1 do
        for j in 0 .. n - 1 do
            let mutable s = 0.0
            let mutable sa = 0.0
            for p in 0 .. k - 1 do
                let t = float (opAt transA a lda i p) * float (opAt transB b ldb p j)
                s <- s + t
                sa <- sa + abs t
            let c0 = if beta = 0.0f then 0.0 else float beta * float c.[i * ldc + j]
            value.[i, j] <- float alpha * s + c0
            scale.[i, j] <- abs (float alpha) * sa + abs c0
    value, scale

/// Convolution geometry with the forward output size.
let geometry n cin h w cout kh kw sh sw ph pw dh dw =
    let ho = ConvGeometry.OutSize(h, kh, sh, ph, dh)
    let wo = ConvGeometry.OutSize(w, kw, sw, pw, dw)
    ConvGeometry(n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)

/// Visits every (n, co, oh, ow, ci, kh, kw, xIndex, wIndex, yIndex) term of a convolution.
let convTerms (g: ConvGeometry) (f: int -> int -> int -> unit) =
    for n in 0 .. g.N - 1 do
        for co in 0 .. g.Cout - 1 do
            for oh in 0 .. g.Ho - 1 do
                for ow in 0 .. g.Wo - 1 do
                    let yi = ((n * g.Cout + co) * g.Ho + oh) * g.Wo + ow
                    for ci in 0 .. g.Cin - 1 do
                        for kh in 0 .. g.Kh - 1 do
                            let ih = oh * g.StrideH - g.PadH + kh * g.DilationH
                            if ih >= 0 && ih < g.H then
                                for kw in 0 .. g.Kw - 1 do
                                    let iw = ow * g.StrideW - g.PadW + kw * g.DilationW
                                    if iw >= 0 && iw < g.W then
                                        f (((n * g.Cin + ci) * g.H + ih) * g.W + iw) (((co * g.Cin + ci) * g.Kh + kh) * g.Kw + kw) yi

/// Forward in double: (value, Σ|terms|) per output element.
let convForwardRef (g: ConvGeometry) (x: float32[]) (w: float32[]) (bias: float32[]) =
    let y = Array.zeroCreate<float> (g.N * g.Cout * g.Ho * g.Wo)
    let s = Array.zeroCreate<float> y.Length
    if bias.Length > 0 then
        for i in 0 .. y.Length - 1 do
            let co = (i / (g.Ho * g.Wo)) % g.Cout
            y.[i] <- float bias.[co]
            s.[i] <- abs (float bias.[co])
    convTerms g (fun xi wi yi ->
        let t = float x.[xi] * float w.[wi]
        y.[yi] <- y.[yi] + t
        s.[yi] <- s.[yi] + abs t)
    y, s

let convBackwardInputRef (g: ConvGeometry) (dy: float32[]) (w: float32[]) =
    let dx = Array.zeroCreate<float> (g.N * g.Cin * g.H * g.W)
    let s = Array.zeroCreate<float> dx.Length
    convTerms g (fun xi wi yi ->
        let t = float dy.[yi] * float w.[wi]
        dx.[xi] <- dx.[xi] + t
        s.[xi] <- s.[xi] + abs t)
    dx, s

let convBackwardWeightRef (g: ConvGeometry) (x: float32[]) (dy: float32[]) =
    let dw = Array.zeroCreate<float> (g.Cout * g.Cin * g.Kh * g.Kw)
    let s = Array.zeroCreate<float> dw.Length
    convTerms g (fun xi wi yi ->
        let t = float dy.[yi] * float x.[xi]
        dw.[wi] <- dw.[wi] + t
        s.[wi] <- s.[wi] + abs t)
    dw, s

/// Fails with a message naming the first element whose error exceeds tol·scale + tiny.
let assertClose (what: string) (tol: float) (expected: float[]) (scale: float[]) (actual: float32[]) =
    for i in 0 .. expected.Length - 1 do
        let err = abs (float actual.[i] - expected.[i])
        if not (err <= tol * scale.[i] + 1e-30) then
            failwithf "%s: element %d is %g, expected %g (error %g > %g·%g)" what i actual.[i] expected.[i] err tol scale.[i]

/// Runs f with the CPU backend forced to an ISA level (CpuIsa.Level), restoring the previous level after.
let withIsa (level: IsaLevel) f =
    let old = CpuIsa.Level
    CpuIsa.Level <- level
    try f () finally CpuIsa.Level <- old

/// Bitwise equality of float arrays (NaN-safe).
let sameBits (a: float32[]) (b: float32[]) =
    a.Length = b.Length && Array.forall2 (fun (x: float32) (y: float32) -> BitConverter.SingleToInt32Bits x = BitConverter.SingleToInt32Bits y) a b
