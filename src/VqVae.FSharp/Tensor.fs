namespace VqVae.FSharp

open VqVae.Tensors

/// Curried functions over the immutable tensor type, in the spirit of DiffSharp's `dsharp.*`:
/// the tensor comes last so pipelines read left to right (`x |> Tensor.reshape [b; -1] |> Tensor.sum`).
/// Arithmetic uses the ordinary operators (`a + b`, `a * 2.0f`, `exp t`, `sqrt t`, `t ** 2.0f`).
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tensor =
    /// A tensor with the given shape holding a copy of `data` (row-major).
    let ofArray (shape: int list) (data: float32 array) = Tensor.FromArray(data, Array.ofList shape)
    /// A tensor with the given shape from a sequence of values (row-major).
    let ofSeq (shape: int list) (data: float32 seq) = Tensor.FromArray(Array.ofSeq data, Array.ofList shape)
    /// A one-element tensor of shape [].
    let scalar (v: float32) = Tensor.Scalar v
    /// Zeros of the given shape.
    let zeros (shape: int list) = Tensor.Zeros(Array.ofList shape)
    /// Ones of the given shape.
    let ones (shape: int list) = Tensor.Ones(Array.ofList shape)
    /// One value everywhere.
    let full (shape: int list) (v: float32) = Tensor.Full(v, Array.ofList shape)
    /// Values uniform in [lo, hi) from a random key.
    let uniform (rng: Rng) (lo: float32) (hi: float32) (shape: int list) = Tensor.Uniform(rng, lo, hi, Array.ofList shape)
    /// Values from N(mean, std²) from a random key.
    let normal (rng: Rng) (mean: float32) (std: float32) (shape: int list) = Tensor.Normal(rng, mean, std, Array.ofList shape)

    /// The dimensions.
    let shape (t: Tensor) = List.ofArray t.Shape
    /// The values, row-major.
    let toArray (t: Tensor) = t.ToArray()
    /// The value of a one-element tensor.
    let toScalar (t: Tensor) = t.ToScalar()
    /// Stop-gradient: the same values, and no gradient flows back through the result.
    let noDiff (t: Tensor) = t.NoDiff()

    /// Same values, another shape (one dimension may be -1).
    let reshape (shape: int list) (t: Tensor) = t.Reshape(Array.ofList shape)
    /// Reorders dimensions: output dimension i is input dimension perm[i].
    let permute (perm: int list) (t: Tensor) = t.Permute(Array.ofList perm)
    /// Swaps two dimensions.
    let transpose (d0: int) (d1: int) (t: Tensor) = t.Transpose(d0, d1)
    /// Elements [start, start+length) along a dimension (torch.narrow).
    let narrow (dim: int) (start: int) (length: int) (t: Tensor) = t.Narrow(dim, start, length)
    /// Concatenation along dimension 0.
    let cat (parts: Tensor list) = Tensor.Cat(List.toArray parts)
    /// Concatenation along a dimension.
    let catDim (dim: int) (parts: Tensor list) = Tensor.Cat(List.toArray parts, dim)

    /// Sum of all elements.
    let sum (t: Tensor) = t.Sum()
    /// Sum over one dimension.
    let sumDim (dim: int) (t: Tensor) = t.Sum(dim)
    /// Mean of all elements.
    let mean (t: Tensor) = t.Mean()
    /// Mean over one dimension.
    let meanDim (dim: int) (t: Tensor) = t.Mean(dim)
    /// Population variance of all elements.
    let variance (t: Tensor) = t.Variance([| 0 .. t.Rank - 1 |])

    /// max(x, 0).
    let relu (t: Tensor) = t.Relu()
    /// Logistic sigmoid.
    let sigmoid (t: Tensor) = t.Sigmoid()
    /// Hyperbolic tangent.
    let tanh (t: Tensor) = t.Tanh()
    /// tanh(first half) · sigmoid(second half) along a dimension (Gated PixelCNN).
    let gate (dim: int) (t: Tensor) = t.Gate dim
    /// log softmax along a dimension (numerically stable).
    let logSoftmax (dim: int) (t: Tensor) = t.LogSoftmax dim
    /// softmax along a dimension.
    let softmax (dim: int) (t: Tensor) = t.Softmax dim
    /// Mean cross-entropy (nats) of logits [B,K,…] against one class index per position.
    let crossEntropy (targets: int array) (logits: Tensor) = Tensor.CrossEntropy(logits, targets)
    /// An integer grid [b,h,w] (row-major codes) embedded by a [K,D] table: [b,D,h,w].
    let embedGrid (b: int) (h: int) (w: int) (codes: int array) (table: Tensor) = table.EmbedGrid(codes, b, h, w)
    /// conv2d with a fixed 0/1 mask on the weight (stride 1, padding ph, pw).
    let maskedConv2d (padH: int) (padW: int) (mask: Tensor) (weight: Tensor) (bias: Tensor option) (input: Tensor) =
        Tensor.MaskedConv2d(input, weight, mask, Option.toObj bias, padH, padW)
    /// x².
    let square (t: Tensor) = t.Square()
    /// Values clamped to [lo, hi].
    let clamp (lo: float32) (hi: float32) (t: Tensor) = t.Clamp(lo, hi)

    /// Matrix product a·b of 2-D tensors.
    let matmul (a: Tensor) (b: Tensor) = Tensor.MatMul(a, b)
    /// 2-D convolution (NCHW; weight [out,in,kh,kw] as in PyTorch).
    let conv2d (stride: int) (padding: int) (weight: Tensor) (bias: Tensor option) (input: Tensor) =
        Tensor.Conv2d(input, weight, Option.toObj bias, stride, padding)
    /// 2-D transposed convolution (NCHW; weight [in,out,kh,kw] as in PyTorch).
    let convTranspose2d (stride: int) (padding: int) (outputPadding: int) (weight: Tensor) (bias: Tensor option) (input: Tensor) =
        Tensor.ConvTranspose2d(input, weight, Option.toObj bias, stride, padding, outputPadding)
    /// Rows of a [K,D] table at the given indices.
    let gatherRows (indices: int array) (table: Tensor) = table.GatherRows indices
    /// For each row of `rows` [N,D], the index of the nearest row of `codebook` [K,D] (squared L2, ties → lowest).
    let nearestRows (codebook: Tensor) (rows: Tensor) = rows.NearestRows codebook
    /// A [N,k] one-hot matrix.
    let oneHot (k: int) (indices: int array) = Tensor.OneHot(indices, k)

    /// mean((a − b)²): the library's `Loss.Mse` (prediction first, target second).
    let mseLoss (a: Tensor) (b: Tensor) = VqVae.Functional.Losses.Loss.Mse(a, b)

/// The most used tensor functions without the `Tensor.` prefix.
[<AutoOpen>]
module TensorFunctions =
    // Aliases of the Tensor module's functions: one definition each, there.
    /// Stop-gradient (see `Tensor.noDiff`).
    let noDiff t = Tensor.noDiff t
    /// mean((a − b)²).
    let mseLoss (a: Tensor) (b: Tensor) = Tensor.mseLoss a b
    /// max(x, 0).
    let relu t = Tensor.relu t
    /// Logistic sigmoid.
    let sigmoid t = Tensor.sigmoid t
    /// Hyperbolic tangent.
    let tanh t = Tensor.tanh t
    /// tanh(first half) · sigmoid(second half) along a dimension (Gated PixelCNN).
    let gate dim t = Tensor.gate dim t
    /// log softmax along a dimension (numerically stable).
    let logSoftmax dim t = Tensor.logSoftmax dim t
    /// softmax along a dimension.
    let softmax dim t = Tensor.softmax dim t
    /// Mean cross-entropy (nats) of logits [B,K,…] against one class index per position.
    let crossEntropy targets logits = Tensor.crossEntropy targets logits
    /// An integer grid [b,h,w] (row-major codes) embedded by a [K,D] table: [b,D,h,w].
    let embedGrid b h w codes table = Tensor.embedGrid b h w codes table
    /// conv2d with a fixed 0/1 mask on the weight (stride 1, padding ph, pw).
    let maskedConv2d padH padW mask weight bias input = Tensor.maskedConv2d padH padW mask weight bias input
