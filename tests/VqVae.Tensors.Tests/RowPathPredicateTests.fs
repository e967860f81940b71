/// Which geometries take the AVX2 whole-row lowering and scatter (Avx2Rows). Every path gives the same bits, so
/// the conv properties cannot tell whether a geometry took the fast rows or the plain loops; a predicate that drifted
/// (a threshold off by one, a condition dropped) would silently slow the model's layers or send a geometry the rows
/// cannot handle into them. These tests pin each condition at its boundary (the sampled mutation run found none did).
module VqVae.Tensors.Tests.RowPathPredicateTests

open Xunit
open VqVae.Tensors.Backends
open VqVae.Tensors.Backends.Cpu
open VqVae.Tensors.Tests.KernelsReference

/// 1×1 kernel, no dilation: Ho = (H + 2·ph − 1) / sh + 1, likewise Wo.
let private plain h w sh sw ph pw = geometry 1 1 h w 1 1 1 sh sw ph pw 1 1

/// A geometry with the given output size, whatever its input (the predicates read Ho/Wo as given).
let private withOutput (g: ConvGeometry) ho wo =
    ConvGeometry(g.N, g.Cin, g.H, g.W, g.Cout, g.Kh, g.Kw, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW, ho, wo)

[<Fact>]
let ``segments are images x output rows x eight-output pieces, saturating at the largest int`` () =
    let g = plain 7 7 1 1 0 0
    Assert.Equal(7, Avx2Rows.Segments(g, 1))
    Assert.Equal(3 * 7 * 2, Avx2Rows.Segments(withOutput g 7 9, 3))
    Assert.Equal(7 * 1, Avx2Rows.Segments(withOutput g 7 8, 1))
    Assert.Equal(System.Int32.MaxValue, Avx2Rows.Segments(withOutput g 100_000 100_000, 100_000))

[<Fact>]
let ``the lowering rows take slivers of at least 8, stride 1 or 2 across, a non-empty row and at most 512 segments`` () =
    let layer = geometry 1 128 14 14 128 4 4 2 2 1 1 1 1 // the encoder's 128→128 stride-2 layer: 7 segments an image
    Assert.True(Avx2Rows.LowerApplies(layer, 8, 1), "nr = 8 is a whole register")
    Assert.True(Avx2Rows.LowerApplies(layer, 16, 1))
    Assert.False(Avx2Rows.LowerApplies(layer, 7, 1), "nr = 7 is less than a register")
    Assert.True(Avx2Rows.LowerApplies(plain 8 8 1 1 0 0, 16, 1), "stride 1")
    Assert.False(Avx2Rows.LowerApplies(plain 9 9 1 3 0 0, 16, 1), "stride 3 across")
    Assert.False(Avx2Rows.LowerApplies(withOutput layer 7 0, 16, 1), "an empty output row")
    let eight = plain 8 8 1 1 0 0 // 8 segments an image
    Assert.True(Avx2Rows.LowerApplies(eight, 16, 64), "exactly 512 segments")
    Assert.False(Avx2Rows.LowerApplies(eight, 16, 65), "520 segments")

[<Fact>]
let ``the scatter rows take rows of at most 4 registers whose registers never overlap the next row's`` () =
    // Wo = 32 at stride 1: 31 < 32 and 4 registers; H + 2·PadW = 32 = 8 · 4 is just far enough apart.
    let edge = plain 30 30 1 1 1 1
    Assert.Equal(32, edge.Wo)
    Assert.True(Avx2Rows.ScatterApplies edge, "rows exactly 4 registers apart")
    // Wo = 31: still 4 registers, but rows only 31 apart.
    Assert.False(Avx2Rows.ScatterApplies(plain 29 29 1 1 1 1), "rows 31 floats apart overlap 4 registers")
    // Wo = 33 spans 32 floats: past 4 registers.
    Assert.False(Avx2Rows.ScatterApplies(plain 31 31 1 1 1 1), "a row spanning 5 registers")
    Assert.False(Avx2Rows.ScatterApplies(withOutput edge 32 0), "an empty output row")
    Assert.True(Avx2Rows.ScatterApplies(geometry 1 128 14 14 128 4 4 2 2 1 1 1 1), "the model's stride-2 layer")

// The portable 128-bit rows (Vector128Rows), the same conditions with 4-float registers.

[<Fact>]
let ``the 128-bit plan bound counts each row's 4-output pieces, its sliver edges and one more, saturating at the largest int`` () =
    let g = plain 8 8 1 1 0 0
    Assert.Equal(8 * (2 + 1 + 1), Vector128Rows.MaxSegmentsOf(g, 1, 8))
    Assert.Equal(3 * 8 * (2 + 2 + 1), Vector128Rows.MaxSegmentsOf(g, 3, 4))
    Assert.Equal(7 * (3 + 1 + 1), Vector128Rows.MaxSegmentsOf(withOutput g 7 9, 1, 16))
    Assert.Equal(System.Int32.MaxValue, Vector128Rows.MaxSegmentsOf(withOutput g 100_000 100_000, 100_000, 8))

[<Fact>]
let ``the 128-bit lowering rows take slivers of at least 4, stride 1 or 2 across, a non-empty row and at most 1024 pieces`` () =
    let layer = geometry 1 128 14 14 128 4 4 2 2 1 1 1 1
    Assert.True(Vector128Rows.LowerApplies(layer, 4, 1), "nr = 4 is a whole register")
    Assert.False(Vector128Rows.LowerApplies(layer, 3, 1), "nr = 3 is less than a register")
    Assert.True(Vector128Rows.LowerApplies(plain 9 9 2 2 0 0, 8, 1), "stride 2")
    Assert.False(Vector128Rows.LowerApplies(plain 9 9 1 3 0 0, 8, 1), "stride 3 across")
    Assert.False(Vector128Rows.LowerApplies(withOutput layer 7 0, 8, 1), "an empty output row")
    let eight = plain 8 8 1 1 0 0 // at most 32 pieces an image with nr = 8
    Assert.True(Vector128Rows.LowerApplies(eight, 8, 32), "exactly 1024")
    Assert.False(Vector128Rows.LowerApplies(eight, 8, 33), "1056")

[<Fact>]
let ``the 128-bit scatter rows take stride 1 or 2, rows of at most 8 registers, registers that never overlap the next row's`` () =
    let edge = plain 30 30 1 1 1 1 // Wo = 32: 8 registers, rows 32 floats apart
    Assert.True(Vector128Rows.ScatterApplies edge, "rows exactly 8 registers apart")
    Assert.False(Vector128Rows.ScatterApplies(plain 29 29 1 1 1 1), "rows 31 floats apart overlap 8 registers")
    Assert.False(Vector128Rows.ScatterApplies(plain 31 31 1 1 1 1), "a row spanning 9 registers")
    Assert.False(Vector128Rows.ScatterApplies(plain 30 30 1 3 1 1), "stride 3 across")
    Assert.False(Vector128Rows.ScatterApplies(withOutput edge 32 0), "an empty output row")
    Assert.True(Vector128Rows.ScatterApplies(geometry 1 128 14 14 128 4 4 2 2 1 1 1 1), "the model's stride-2 layer")
