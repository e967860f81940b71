/// Same inputs → bitwise-identical results: run to run, and whatever the thread count (DESIGN §3:
/// fixed partitioning of parallel reductions).
/// Tests that set the global Threading.Threads share the "Threading.Threads" xunit collection, so
/// that they do not run at the same time and restore each other's saved value in the wrong order.
[<Xunit.Collection("Threading.Threads")>]
module VqVae.Tensors.Tests.DeterminismTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.ThreadCount

/// A small conv net's parameters: conv 1→16 (4×4, s2, p1), conv 16→16 (3×3, p1), convT 16→8 (4×4, s2, p1), conv 8→1.
let private parameters () =
    let rng = Rng.Seed(7L)
    let t i lo hi (shape: int[]) = Tensor.Uniform(rng.Fold(int64 i), lo, hi, shape)
    [| t 0 -0.25f 0.25f [| 16; 1; 4; 4 |]; t 1 -0.1f 0.1f [| 16 |]
       t 2 -0.08f 0.08f [| 16; 16; 3; 3 |]; t 3 -0.1f 0.1f [| 16 |]
       t 4 -0.06f 0.06f [| 16; 8; 4; 4 |]; t 5 -0.1f 0.1f [| 8 |]
       t 6 -0.1f 0.1f [| 1; 8; 3; 3 |]; t 7 -0.1f 0.1f [| 1 |]
       t 8 -0.2f 0.2f [| 12; 16 |] |]

let private batch = Tensor.Uniform(Rng.Seed(8L), 0f, 1f, 8, 1, 28, 28)

/// Forward through convs, a matmul over channel-last rows, a gather of nearest codes, and back; loss = mse.
let private loss (ps: Tensor[]) =
    let h = Tensor.Relu(Tensor.Conv2d(batch, ps[0], ps[1], stride = 2, padding = 1))
    let h = Tensor.Conv2d(h, ps[2], ps[3], padding = 1)
    let rows = h.Permute(0, 2, 3, 1).Reshape(-1, 16)
    let codes = Tensor.MatMulT(ps[8], ps[8], false, true) // [12,12]
    let idx = rows.NearestRows(ps[8])
    let q = ps[8].GatherRows(idx)
    let h = (rows + (q - rows).NoDiff()).Reshape(8, 14, 14, 16).Permute(0, 3, 1, 2)
    let h = Tensor.Relu(Tensor.ConvTranspose2d(h, ps[4], ps[5], stride = 2, padding = 1))
    let y = Tensor.Sigmoid(Tensor.Conv2d(h, ps[6], ps[7], padding = 1))
    ((y - batch).Square()).Mean() + codes.Square().Mean() * 1e-3f + ((q - rows.NoDiff()).Square()).Mean()

/// The loss and every gradient, as raw bits.
let private run () =
    let struct (v, gs) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(loss), parameters ())
    Array.append [| BitConverter.SingleToInt32Bits(v.ToScalar()) |]
        (gs |> Array.collect (fun g -> (nonNull g).ToArray() |> Array.map BitConverter.SingleToInt32Bits))

/// A GEMM large enough to be split across threads, forward and backward.
let private runMatMul () =
    let a = Tensor.Uniform(Rng.Seed(1L), -1f, 1f, 150, 333)
    let b = Tensor.Uniform(Rng.Seed(2L), -1f, 1f, 333, 170)
    let struct (v, gs) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> Tensor.MatMul(ts[0], ts[1]).Square().Sum()), [| a; b |])
    Array.append [| BitConverter.SingleToInt32Bits(v.ToScalar()) |]
        (gs |> Array.collect (fun g -> (nonNull g).ToArray() |> Array.map BitConverter.SingleToInt32Bits))

[<Fact>]
let ``a conv net forward and backward twice gives identical bits`` () =
    let a = run ()
    let b = run ()
    Assert.Equal(1 + 4913, a.Length) // the loss and every parameter's gradient
    Assert.Equal<int[]>(a, b)

[<Fact>]
let ``one thread and two threads give identical bits`` () =
    let one = withThreads 1 run
    let two = withThreads 2 run
    Assert.Equal<int[]>(one, two)
    let one = withThreads 1 runMatMul
    let two = withThreads 2 runMatMul
    let four = withThreads 4 runMatMul
    Assert.Equal<int[]>(one, two)
    Assert.Equal<int[]>(one, four)
