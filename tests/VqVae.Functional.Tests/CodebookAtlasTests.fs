/// The codebook atlas (Codebooks/CodebookAtlas.cs): one decoded tile per used code, most used first, each a 3×3
/// block of the code in the middle of a grid of the most used one; every code when none was used; chunks of 64
/// decoded as one; refusals by name.
module VqVae.Functional.Tests.CodebookAtlasTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Functional.Codebooks
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Tensors.Tests.Refusals

/// A tiny model whose decoder draws each code differently. (With seed 2 the tiny decoder's ReLUs are all dead at
/// init and every grid decodes to the same constant image, so tiles compared by value would prove nothing.)
let private model (k: int) =
    let m = VqVaeModel.Init(ModelTests.tiny.With(codebookSize = Nullable k), Rng.Seed 3L)
    let decode (codes: int[]) = VqVaeModel.DecodeCodes(m, CodeIndices.Of(codes, 1, 2, 2)).ToArray()
    Assert.NotEqual<float32[]>(decode [| 0; 0; 0; 0 |], decode [| 0; 0; 0; 1 |])
    m

[<Fact>]
let ``tiles are the used codes, most used first (ties by index), each a 3×3 block on the most used code`` () =
    let m = model 8
    let usage = CodeUsage.FromCounts [ 0L; 5L; 9L; 5L; 0L; 0L; 1L; 0L ]
    let atlas = CodebookAtlas.Of(m, usage, 5, 4)
    Assert.Equal<int[]>([| 2; 1; 3; 6 |], atlas.Codes)
    Assert.Equal<int[]>([| 4; 1; 20; 16 |], atlas.Tiles.Shape)
    // Tile 1 by hand: code 2 everywhere, code 1 on rows 1..3 × columns 1..3 (the block around the middle, 5/2 and 4/2).
    let grid = Array.init 20 (fun i -> let r, c = i / 4, i % 4 in if r >= 1 && r <= 3 && c >= 1 && c <= 3 then 1 else 2)
    let expected = VqVaeModel.DecodeCodes(m, CodeIndices.Of(grid, 1, 5, 4)).ToArray()
    Assert.Equal<float32[]>(expected, atlas.Tiles.Narrow(0, 1, 1).ToArray())

[<Fact>]
let ``with no code used every code gets a tile; a grid too small for the block keeps what fits`` () =
    let m = model 8
    let atlas = CodebookAtlas.Of(m, CodeUsage.Empty 8, 1, 1)
    Assert.Equal<int[]>([| 0 .. 7 |], atlas.Codes)
    // A 1×1 grid holds only the block's middle cell: the tile is the code itself.
    for i in 0 .. 7 do
        Assert.Equal<float32[]>(VqVaeModel.DecodeCodes(m, CodeIndices.Of([| i |], 1, 1, 1)).ToArray(), atlas.Tiles.Narrow(0, i, 1).ToArray())

[<Fact>]
let ``more than 64 codes are decoded in chunks and joined in order`` () =
    let m = model 70
    let usage = CodeUsage.FromCounts [ for i in 0 .. 69 -> int64 (100 - i) ]
    let atlas = CodebookAtlas.Of(m, usage, 2, 2)
    Assert.Equal<int[]>([| 0 .. 69 |], atlas.Codes)
    Assert.Equal(70, atlas.Tiles.Shape[0])
    // On a 2×2 grid the block covers every cell: tile 69 is code 69 alone.
    Assert.Equal<float32[]>(VqVaeModel.DecodeCodes(m, CodeIndices.Of(Array.create 4 69, 1, 2, 2)).ToArray(), atlas.Tiles.Narrow(0, 69, 1).ToArray())

[<Fact>]
let ``exactly 64 codes are one chunk: no empty chunk after it`` () =
    let m = model 64
    let atlas = CodebookAtlas.Of(m, CodeUsage.FromCounts [ for i in 0 .. 63 -> int64 (100 - i) ], 3, 3)
    Assert.Equal<int[]>([| 0 .. 63 |], atlas.Codes)
    Assert.Equal<int[]>([| 64; 1; 12; 12 |], atlas.Tiles.Shape)

[<Fact>]
let ``every tile of a chunk has its own code's block on the background, on a grid wider than high`` () =
    // 3×6: the block is rows 0..2 × columns 2..4 (3/2 − 1 = 0, 6/2 − 1 = 2); background code 4 (the most used).
    let m = model 6
    let usage = CodeUsage.FromCounts [ 1L; 2L; 0L; 3L; 9L; 0L ]
    let atlas = CodebookAtlas.Of(m, usage, 3, 6)
    Assert.Equal<int[]>([| 4; 3; 1; 0 |], atlas.Codes)
    for tile, code in Array.indexed atlas.Codes do
        let grid = Array.init 18 (fun i -> let r, c = i / 6, i % 6 in if c >= 2 && c <= 4 && r <= 2 then code else 4)
        Assert.Equal<float32[]>(VqVaeModel.DecodeCodes(m, CodeIndices.Of(grid, 1, 3, 6)).ToArray(), atlas.Tiles.Narrow(0, tile, 1).ToArray())

[<Fact>]
let ``usage of another codebook size, a grid below 1×1 and null arguments are refused by name`` () =
    let m = model 8
    refusedAs<ArgumentException> "usage" "codebookAtlas: usage counts 3 codes, the model has 8." (fun () -> CodebookAtlas.Of(m, CodeUsage.Empty 3, 2, 2)) |> ignore
    for h, w in [ 0, 2; 2, 0 ] do
        refusedAs<ArgumentOutOfRangeException> "latentHeight" $"codebookAtlas: the latent grid must be at least 1×1, got {h}×{w}." (fun () -> CodebookAtlas.Of(m, CodeUsage.Empty 8, h, w)) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> CodebookAtlas.Of(Unchecked.defaultof<VqVaeModel>, CodeUsage.Empty 8, 2, 2)))
    Assert.Equal("usage", nullArgumentOf (fun () -> CodebookAtlas.Of(m, Unchecked.defaultof<CodeUsage>, 2, 2)))
