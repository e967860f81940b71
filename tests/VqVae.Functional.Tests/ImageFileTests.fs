module VqVae.Functional.Tests.ImageFileTests

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Data.Images
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests

// Image files through SkiaSharp. An independent little PNG builder (own CRC, own filters, framework
// zlib) makes exact files: well-formed ones of every colour type, and malformed ones.

let crc32 (bytes: byte[]) =
    let mutable c = 0xFFFFFFFFu
    for b in bytes do
        c <- c ^^^ uint32 b
        for _ in 1..8 do
            c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
    c ^^^ 0xFFFFFFFFu

let be32 (v: uint32) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]

let chunk (typ: string) (data: byte[]) =
    let t = Encoding.ASCII.GetBytes typ
    Array.concat [ be32 (uint32 data.Length); t; data; be32 (crc32 (Array.append t data)) ]

let signature = [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]

let ihdr w h depth colorType interlace =
    chunk "IHDR" (Array.concat [ be32 (uint32 w); be32 (uint32 h); [| byte depth; byte colorType; 0uy; 0uy; byte interlace |] ])

let zlib (data: byte[]) =
    use ms = new MemoryStream()
    (use z = new ZLibStream(ms, CompressionLevel.Fastest)
     z.Write(data, 0, data.Length))
    ms.ToArray()

let inflate (data: byte[]) =
    use z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress)
    use out = new MemoryStream()
    z.CopyTo out
    out.ToArray()

/// Filters one raw row with filter type f, straight from the spec's definitions.
let filterRow f (bpp: int) (prior: byte[]) (row: byte[]) =
    let paeth a b c =
        let p = a + b - c
        let pa, pb, pc = abs (p - a), abs (p - b), abs (p - c)
        if pa <= pb && pa <= pc then a elif pb <= pc then b else c
    Array.init row.Length (fun i ->
        let a = if i >= bpp then int row[i - bpp] else 0
        let b = int prior[i]
        let c = if i >= bpp then int prior[i - bpp] else 0
        let pred =
            match f with
            | 0 -> 0
            | 1 -> a
            | 2 -> b
            | 3 -> (a + b) / 2
            | 4 -> paeth a b c
            | _ -> failwith "filter"
        byte ((int row[i] - pred) &&& 0xFF))

/// The zlib stream of rows, row y filtered with filters[y % filters.Length].
let imageData (bpp: int) (filters: int list) (rows: byte[][]) =
    let filters = Array.ofList filters
    let prior = ref (Array.zeroCreate<byte> rows[0].Length)
    rows
    |> Array.mapi (fun y row ->
        let f = filters[y % filters.Length]
        let out = Array.append [| byte f |] (filterRow f bpp prior.Value row)
        prior.Value <- row
        out)
    |> Array.concat
    |> zlib

let png (chunks: byte[] list) = Array.concat (signature :: chunks @ [ chunk "IEND" [||] ])

let private expectImageError (fragment: string) (bytes: byte[]) =
    let e = Assert.Throws<ImageFormatException>(fun () -> ImageFile.Decode(bytes, "test.png") |> ignore)
    Assert.Contains(fragment, e.Message)
    Assert.Contains("test.png", e.Message)
    Assert.DoesNotContain("\n", e.Message)

let private config n = Config.QuickThrowOnFailure.WithMaxTest(n)

// ---- Round trip ----

let genImage =
    gen {
        let! w = Gen.choose (1, 40)
        let! h = Gen.choose (1, 40)
        let! ch = Gen.elements [ 1; 3; 4 ]
        let! noisy = Gen.elements [ true; false ]
        let n = w * h * ch
        let! noise = Gen.arrayOfLength n (Gen.choose (0, 255))
        // Smooth images make the encoder pick Sub/Up/Average/Paeth; noise makes it pick anything.
        let px =
            Array.init n (fun i ->
                if noisy then byte noise[i]
                else
                    let p = i / ch
                    byte ((p % w) * 5 + (p / w) * 3 + (i % ch) * 40 + noise[i] % 3))
        return Image(w, h, ch, px)
    }

[<PropertyTest(150)>]
let ``PNG round trip keeps every pixel of every colour type`` () =
    Prop.forAll (Arb.fromGen genImage) (fun img ->
        let back = ImageFile.Decode(ImageFile.EncodePng img)
        Assert.Equal((img.Width, img.Height, img.Channels), (back.Width, back.Height, back.Channels))
        Assert.Equal<byte[]>(img.Pixels, back.Pixels))

[<Fact>]
let ``grey is written as a grey PNG, RGB as RGB, RGBA as RGBA (IHDR colour type)`` () =
    for (ch, colorType) in [ (1, 0uy); (3, 2uy); (4, 6uy) ] do
        let bytes = ImageFile.EncodePng(Image(3, 2, ch, Array.init (6 * ch) byte))
        Assert.Equal<byte[]>(signature, bytes[..7])
        Assert.Equal(colorType, bytes[25])

// ---- Decoding hand-made files ----

let rgbRows w h = Array.init h (fun y -> Array.init (w * 3) (fun i -> byte ((i * 37 + y * 91 + i * y * 13) % 256)))

[<Theory>]
[<InlineData(0)>]
[<InlineData(1)>]
[<InlineData(2)>]
[<InlineData(3)>]
[<InlineData(4)>]
let ``decodes RGB rows written with each filter type`` (filter: int) =
    let w, h = 7, 5
    let rows = rgbRows w h
    let img = ImageFile.Decode(png [ ihdr w h 8 2 0; chunk "IDAT" (imageData 3 [ filter ] rows) ])
    Assert.Equal((w, h, 3), (img.Width, img.Height, img.Channels))
    Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``Paeth breaks ties toward the left, then the upper neighbour`` () =
    // Upper-left c = 100. Left a = 80, above b = 110: p = 90, |p−a| = |p−c| = 10 → a.
    // Left a = 110, above b = 80: p = 90, |p−b| = |p−c| = 10 < |p−a| → b.
    for (a, b) in [ (80, 110); (110, 80) ] do
        let rows = [| [| 100uy; byte b |]; [| byte a; 42uy |] |]
        let img = ImageFile.Decode(png [ ihdr 2 2 8 0 0; chunk "IDAT" (imageData 1 [ 4 ] rows) ])
        Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``decodes mixed filters across rows for grey and RGBA, split over many IDAT chunks`` () =
    for (ch, colorType) in [ (1, 0); (4, 6) ] do
        let w, h = 9, 11
        let rows = Array.init h (fun y -> Array.init (w * ch) (fun i -> byte ((i * i * 7 + y * 29) % 256)))
        let data = imageData ch [ 4; 0; 3; 1; 2 ] rows
        let idats = data |> Array.chunkBySize 5 |> Array.map (chunk "IDAT") |> List.ofArray
        let img = ImageFile.Decode(png (ihdr w h 8 colorType 0 :: idats))
        Assert.Equal(ch, img.Channels)
        Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``palette images expand to RGB, or RGBA with tRNS, including 2-bit indices`` () =
    let plte = chunk "PLTE" [| 255uy; 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy; 9uy; 9uy; 9uy |]
    // 5 pixels of 2 bits each: indices 0 1 2 3 1 → 0b00011011, 0b01000000
    let rows = [| [| 0b00011011uy; 0b01000000uy |] |]
    let img = ImageFile.Decode(png [ ihdr 5 1 2 3 0; plte; chunk "IDAT" (imageData 1 [ 1 ] rows) ])
    Assert.Equal(3, img.Channels)
    Assert.Equal<byte[]>([| 255uy; 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy; 9uy; 9uy; 9uy; 0uy; 255uy; 0uy |], img.Pixels)
    let withAlpha = ImageFile.Decode(png [ ihdr 5 1 2 3 0; plte; chunk "tRNS" [| 10uy; 20uy |]; chunk "IDAT" (imageData 1 [ 0 ] rows) ])
    Assert.Equal(4, withAlpha.Channels)
    Assert.Equal<byte list>([ 10uy; 20uy; 255uy; 255uy; 20uy ], [ for x in 0..4 -> withAlpha[x, 0, 3] ])

[<Fact>]
let ``grey+alpha becomes RGBA, 16-bit keeps the high byte, 1-bit grey scales to 0 and 255`` () =
    let ga = ImageFile.Decode(png [ ihdr 2 1 8 4 0; chunk "IDAT" (imageData 2 [ 3 ] [| [| 7uy; 100uy; 200uy; 255uy |] |]) ])
    Assert.Equal<byte[]>([| 7uy; 7uy; 7uy; 100uy; 200uy; 200uy; 200uy; 255uy |], ga.Pixels)
    // 16-bit RGB: Skia keeps the high byte: 0x1234 → 18, 0xFFFF → 255, 0x0080 → 0, 0x0081 → 0
    let rgb16 = ImageFile.Decode(png [ ihdr 2 1 16 2 0; chunk "IDAT" (imageData 6 [ 4 ] [| [| 0x12uy; 0x34uy; 0xFFuy; 0xFFuy; 0uy; 0x80uy; 0uy; 0x81uy; 0uy; 0uy; 0xFFuy; 0xFFuy |] |]) ])
    Assert.Equal<byte[]>([| 18uy; 255uy; 0uy; 0uy; 0uy; 255uy |], rgb16.Pixels)
    let bits = ImageFile.Decode(png [ ihdr 10 1 1 0 0; chunk "IDAT" (imageData 1 [ 0 ] [| [| 0b10110000uy; 0b01000000uy |] |]) ])
    Assert.Equal<byte[]>([| 255uy; 0uy; 255uy; 255uy; 0uy; 0uy; 0uy; 0uy; 0uy; 255uy |], bits.Pixels)

[<Fact>]
let ``a grey colour key in tRNS becomes an alpha channel`` () =
    let img = ImageFile.Decode(png [ ihdr 3 1 8 0 0; chunk "tRNS" [| 0uy; 50uy |]; chunk "IDAT" (imageData 1 [ 0 ] [| [| 50uy; 51uy; 50uy |] |]) ])
    Assert.Equal(4, img.Channels)
    Assert.Equal<byte list>([ 0uy; 255uy; 0uy ], [ for x in 0..2 -> img[x, 0, 3] ])

// ---- Rejections: one clear line naming the file ----

let validPng () = png [ ihdr 7 5 8 2 0; chunk "IDAT" (imageData 3 [ 4 ] (rgbRows 7 5)) ]

[<Fact>]
let ``interlaced files decode like the rest`` () =
    let rows = rgbRows 7 5
    // Adam7 needs the passes; a 1×1 image is one pass of one pixel.
    let img = ImageFile.Decode(png [ ihdr 1 1 8 2 1; chunk "IDAT" (imageData 3 [ 0 ] [| rows[0][..2] |]) ])
    Assert.Equal<byte[]>(rows[0][..2], img.Pixels)

[<Fact>]
let ``wrong magic is refused as not an image`` () =
    expectImageError "PNG, JPEG, WebP or BMP" (Encoding.ASCII.GetBytes "GIF-but-not-really-an-image-at-all")
    expectImageError "the file is empty" [||]
    let bad = validPng ()
    bad[1] <- byte 'Q'
    expectImageError "not a PNG, JPEG, WebP or BMP file" bad

[<Fact>]
let ``every truncation is an image error`` () =
    let good = validPng ()
    ImageFile.Decode good |> ignore
    // Cutting inside the IDAT data (the image needs all 5 rows) is named as a truncation.
    expectImageError "truncated" good[.. 50]
    // Every cut before the last 21 bytes loses pixels or header. The last 21 hold the deflate
    // stream's final byte, the zlib checksum, the IDAT CRC and IEND, which Skia does not insist on
    // once every row is decoded (measured: the 116-byte cut of this 137-byte file decodes).
    let accepted =
        [ for cut in 0 .. good.Length - 22 do
            try ImageFile.Decode good[.. cut - 1] |> ignore; yield cut with :? ImageFormatException -> () ]
    Assert.True(List.isEmpty accepted, $"cuts of the {good.Length}-byte file that decoded: %A{accepted}")

[<Fact>]
let ``a 69-byte PNG declaring 46340×46340 is refused from its header, before any pixel memory`` () =
    let huge = png [ ihdr 46340 46340 8 0 0; chunk "IDAT" (zlib [| 0uy; 0uy |]) ]
    Assert.True(huge.Length < 80, $"{huge.Length} bytes")
    let before = GC.GetAllocatedBytesForCurrentThread()
    expectImageError "46340×46340 = 2147395600 pixels, above the limit of 33554432" huge
    let allocated = GC.GetAllocatedBytesForCurrentThread() - before
    Assert.True(allocated < 1_000_000L, $"allocated {allocated} bytes")
    // Raising the limit lets the header through, but an array cannot hold it: still one clear line.
    let e = Assert.Throws<ImageFormatException>(fun () -> ImageFile.Decode(huge, "huge.png", Int64.MaxValue) |> ignore)
    Assert.Contains("too many for one array", e.Message)

[<Fact>]
let ``the pixel limit is a parameter a user can raise`` () =
    let bytes = ImageFile.EncodePng(Image(20, 20, 1, Array.zeroCreate 400))
    let e = Assert.Throws<ImageFormatException>(fun () -> ImageFile.Decode(bytes, "small.png", 399L) |> ignore)
    Assert.Contains("20×20 = 400 pixels, above the limit of 399 (pass a larger maxPixels", e.Message)
    Assert.Equal(400, ImageFile.Decode(bytes, "small.png", 400L).Pixels.Length)

/// A 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes, BGR), built by hand.
let bmp24 (w: int) (h: int) (rgb: byte[]) =
    let le32 (v: int) = [| byte v; byte (v >>> 8); byte (v >>> 16); byte (v >>> 24) |]
    let le16 (v: int) = [| byte v; byte (v >>> 8) |]
    let stride = (w * 3 + 3) / 4 * 4
    let rows =
        [| for y in h - 1 .. -1 .. 0 do
             yield! [| for x in 0 .. w - 1 do
                         let i = (y * w + x) * 3
                         yield! [| rgb[i + 2]; rgb[i + 1]; rgb[i] |] |]
             yield! Array.zeroCreate (stride - w * 3) |]
    Array.concat [ "BM"B; le32 (54 + rows.Length); le32 0; le32 54
                   le32 40; le32 w; le32 h; le16 1; le16 24; le32 0; le32 rows.Length; le32 2835; le32 2835; le32 0; le32 0
                   rows ]

[<Fact>]
let ``BMP, lossless WebP and JPEG files read as images`` () =
    let rgb = Array.init (5 * 3 * 3) (fun i -> byte (i * 17 % 256))
    let fromBmp = ImageFile.Decode(bmp24 5 3 rgb, "a.bmp")
    Assert.Equal((5, 3, 3), (fromBmp.Width, fromBmp.Height, fromBmp.Channels))
    Assert.Equal<byte[]>(rgb, fromBmp.Pixels)
    use bitmap = new SkiaSharp.SKBitmap(6, 4, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque)
    for y in 0 .. 3 do
        for x in 0 .. 5 do bitmap.SetPixel(x, y, SkiaSharp.SKColor(byte (x * 40), byte (y * 60), 90uy))
    use webp = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Webp, 100)
    let w = ImageFile.Decode(webp.ToArray(), "a.webp")
    Assert.Equal((6, 4), (w.Width, w.Height))
    Assert.Equal(byte 200, w[5, 0, 0])
    use jpeg = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95)
    let j = ImageFile.Decode(jpeg.ToArray(), "a.jpg")
    Assert.Equal((6, 4, 3), (j.Width, j.Height, j.Channels))
    Assert.InRange(int j[5, 3, 1], 160, 200) // lossy: near 180
    Assert.Equal("jpeg", (ImageFile.DecodeInfo(jpeg.ToArray(), "a.jpg")).Format)
    // A BMP cut short is a truncation, not a picture with a black bottom.
    Assert.Throws<ImageFormatException>(fun () -> ImageFile.Decode((bmp24 5 3 rgb)[.. 70], "cut.bmp") |> ignore) |> ignore
[<Fact>]
let ``reading a missing file is a format error naming it`` () =
    let path = Scratch.path "missing.png"
    let e = Assert.Throws<ImageFormatException>(fun () -> ImageFile.Read path |> ignore)
    Assert.Contains(path, e.Message)

[<Fact>]
let ``write then read a file, atomically replacing what was there`` () =
    let dir = Scratch.dir "png"
    try
        let path = Path.Combine(dir, "a.png")
        ImageFile.WritePng(path, Image(1, 1, 1, [| 3uy |]))
        ImageFile.WritePng(path, Image(2, 1, 3, [| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |]))
        Assert.Equal<byte[]>([| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |], (ImageFile.Read path).Pixels)
        Assert.Equal<string[]>([| path |], Directory.GetFiles dir)
    finally
        Directory.Delete(dir, true)

// ---- Float conversions ----

[<Fact>]
let ``floats in CHW layout become interleaved bytes, clamped and rounded; NaN is an error`` () =
    // 2×1 RGB: R plane [0; 1], G plane [0.5; 2], B plane [-1; 0.2]
    let img = Image.FromChw([| 0f; 1f; 0.5f; 2f; -1f; 0.2f |], 3, 1, 2)
    Assert.Equal<byte[]>([| 0uy; 128uy; 0uy; 255uy; 255uy; 51uy |], img.Pixels)
    let e = Assert.Throws<ArgumentException>(fun () -> Image.FromChw([| 0f; nanf |], 1, 1, 2) |> ignore)
    Assert.Contains("index 1 is NaN", e.Message)
    Assert.Throws<ArgumentException>(fun () -> Image.FromChw([| 0f |], 1, 1, 2) |> ignore) |> ignore
    let back = Image.FromChw(img.ToChw(), 3, 1, 2)
    Assert.Equal<byte[]>(img.Pixels, back.Pixels)

[<Fact>]
let ``channel conversion: grey to RGB replicates, RGB to grey is luma, alpha composites over black`` () =
    let rgba = Image(2, 1, 4, [| 255uy; 0uy; 0uy; 255uy; 200uy; 200uy; 200uy; 0uy |])
    Assert.Equal<byte[]>([| 255uy; 0uy; 0uy; 0uy; 0uy; 0uy |], rgba.WithChannels(3).Pixels)
    Assert.Equal<byte[]>([| 76uy; 0uy |], rgba.WithChannels(1).Pixels)
    Assert.Equal<byte[]>([| 9uy; 9uy; 9uy; 255uy |], Image(1, 1, 1, [| 9uy |]).WithChannels(4).Pixels)
    Assert.Throws<ArgumentException>(fun () -> Image(2, 2, 1, [| 0uy |]) |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Image(1, 1, 2, [| 0uy; 0uy |]) |> ignore) |> ignore
