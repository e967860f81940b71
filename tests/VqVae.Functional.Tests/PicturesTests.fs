module VqVae.Functional.Tests.PicturesTests

open System
open Xunit
open VqVae.Data.Images

let private rgbAt (img: Image) x y = img[x, y, 0], img[x, y, 1], img[x, y, 2]

/// count images of c×h×w, image i filled with the value (i + 1) / 20.
let private flat count c h w = Array.init (count * c * h * w) (fun j -> float32 (j / (c * h * w) + 1) / 20f)

let private level (i: int) = byte (MathF.Round(float32 (i + 1) / 20f * 255f))

[<Fact>]
let ``atlas places image i at row i / columns, column i mod columns, with separators`` () =
    let count, h, w, cols, scale = 7, 3, 4, 3, 2
    let img = Pictures.Atlas(flat count 1 h w, count, 1, h, w, cols, scale)
    let cw, ch = w * scale, h * scale
    Assert.Equal((cols * (cw + 1) + 1, 3 * (ch + 1) + 1), (img.Width, img.Height))
    for i in 0 .. count - 1 do
        let x0, y0 = 1 + (i % cols) * (cw + 1), 1 + (i / cols) * (ch + 1)
        for (x, y) in [ (x0, y0); (x0 + cw - 1, y0 + ch - 1) ] do
            Assert.Equal((level i, level i, level i), rgbAt img x y)
        Assert.NotEqual((level i, level i, level i), rgbAt img (x0 - 1) y0) // separator to the left
    // The empty cells after image 6 keep the separator colour.
    Assert.Equal(rgbAt img 0 0, rgbAt img (1 + 2 * (cw + 1) + 2) (1 + 2 * (ch + 1) + 2))

[<Fact>]
let ``reconstruction grid puts each reconstruction directly below its original`` () =
    let count, h, w, cols = 5, 8, 6, 2
    let originals = flat count 1 h w
    let recons = originals |> Array.map (fun v -> v + 0.5f)
    let img = Pictures.ReconstructionGrid(originals, recons, count, 1, h, w, cols)
    let rlevel i = byte (MathF.Round((float32 (i + 1) / 20f + 0.5f) * 255f))
    // Find each original's top-left by its unique level, then look one image height (+1 line) below.
    for i in 0 .. count - 1 do
        let hits = [ for y in 0 .. img.Height - 1 do for x in 0 .. img.Width - 1 do if rgbAt img x y = (level i, level i, level i) then (x, y) ]
        Assert.Equal(h * w, hits.Length)
        let x0, y0 = List.min hits
        Assert.Equal((rlevel i, rlevel i, rlevel i), rgbAt img x0 (y0 + h + 1))
        Assert.Equal((rlevel i, rlevel i, rlevel i), rgbAt img (x0 + w - 1) (y0 + 2 * h))
        Assert.NotEqual((rlevel i, rlevel i, rlevel i), rgbAt img x0 (y0 + h)) // the thin line between them
    Assert.Throws<ArgumentException>(fun () -> Pictures.ReconstructionGrid(originals, recons[.. 10], count, 1, h, w, cols) |> ignore) |> ignore

[<Fact>]
let ``pictures refuse NaN pixels, naming the position`` () =
    let x = Array.create 8 0.5f
    x[5] <- nanf
    let e = Assert.Throws<ArgumentException>(fun () -> Pictures.Atlas(x, 2, 1, 2, 2, 2) |> ignore)
    Assert.Contains("index 5 is NaN", e.Message)


[<Fact>]
let ``the font has a distinct glyph for every digit and letter; lower case draws as upper case`` () =
    let bitmap c = [ for y in 0..6 do for x in 0..4 -> BitmapFont.Ink(c, x, y) ]
    let chars = [ '0' .. '9' ] @ [ 'A' .. 'Z' ]
    for c in chars do
        Assert.True(BitmapFont.Has c, $"no glyph for {c}")
        Assert.Contains(true, bitmap c)
    Assert.Equal(chars.Length, chars |> List.map bitmap |> List.distinct |> List.length)
    Assert.Equal<bool list>(bitmap 'G', bitmap 'g')
    Assert.Equal<bool list>(bitmap '?', bitmap '€')
    Assert.Equal(17, BitmapFont.MeasureWidth "OUT")

[<Fact>]
let ``canvas text, lines and rectangles land where asked and clip at the edges`` () =
    let c = Canvas(30, 12, Rgb.White)
    let next = c.Text(1, 1, "1", Rgb.Black, 1)
    Assert.Equal(7, next)
    Assert.Equal(Rgb.Black, c.Get(3, 1))   // top of the "1" stem (glyph column 2)
    Assert.Equal(Rgb.White, c.Get(1, 1))
    c.Line(0, 11, 29, 11, Rgb(1uy, 2uy, 3uy))
    Assert.Equal(Rgb(1uy, 2uy, 3uy), c.Get(0, 11))
    Assert.Equal(Rgb(1uy, 2uy, 3uy), c.Get(29, 11))
    c.FillRect(-5, -5, 100, 100, Rgb.Black)  // clipped, not an error
    c.Line(-10, -10, 50, 50, Rgb.White)
    c.Text(25, 8, "WIDE TEXT", Rgb.White, 3) |> ignore
    let img = c.ToImage()
    Assert.Equal((30, 12, 3), (img.Width, img.Height, img.Channels))
