module VqVae.Functional.Tests.PngTests

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Data.Images

// ---- An independent little PNG builder: own CRC (bitwise), own filters, framework zlib. ----

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

let private expectPngError (fragment: string) (bytes: byte[]) =
    let e = Assert.Throws<PngFormatException>(fun () -> Png.Decode(bytes, "test.png") |> ignore)
    Assert.Contains(fragment, e.Message)
    Assert.Contains("test.png", e.Message)

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

[<Fact>]
let ``PNG round trip keeps every pixel of every colour type`` () =
    Prop.forAll (Arb.fromGen genImage) (fun img ->
        let back = Png.Decode(Png.Encode img)
        Assert.Equal((img.Width, img.Height, img.Channels), (back.Width, back.Height, back.Channels))
        Assert.Equal<byte[]>(img.Pixels, back.Pixels))
    |> fun p -> Check.One(config 150, p)

[<Fact>]
let ``encoded chunks carry correct CRCs and a valid header`` () =
    let bytes = Png.Encode(Image(3, 2, 4, Array.init 24 byte))
    Assert.Equal<byte[]>(signature, bytes[..7])
    let mutable pos = 8
    let mutable types = []
    while pos < bytes.Length do
        let len = (int bytes[pos] <<< 24) ||| (int bytes[pos + 1] <<< 16) ||| (int bytes[pos + 2] <<< 8) ||| int bytes[pos + 3]
        let body = bytes[pos + 4 .. pos + 7 + len]
        Assert.Equal<byte[]>(be32 (crc32 body), bytes[pos + 8 + len .. pos + 11 + len])
        types <- types @ [ Encoding.ASCII.GetString body[..3] ]
        pos <- pos + 12 + len
    Assert.Equal<string list>([ "IHDR"; "IDAT"; "IEND" ], types)
    Assert.Equal<byte[]>(ihdr 3 2 8 6 0, bytes[8..32])

[<Fact>]
let ``encoder picks the filter with the smallest sum of absolute values per row`` () =
    // Row 0: a ramp (Sub turns it into ones); row 1: the same ramp (Up turns it into zeros);
    // row 2: constant 200 (None scores 200·(−56 as signed)… Sub gives 200 then zeros).
    let w = 16
    let ramp = Array.init w (fun x -> byte (x * 3 + 10))
    let px = Array.concat [ ramp; ramp; Array.create w 200uy ]
    let bytes = Png.Encode(Image(w, 3, 1, px))
    let idatLen = (int bytes[33] <<< 24) ||| (int bytes[34] <<< 16) ||| (int bytes[35] <<< 8) ||| int bytes[36]
    let raw = inflate bytes[41 .. 40 + idatLen]
    Assert.Equal<int list>([ 1; 2; 1 ], [ for y in 0..2 -> int raw[y * (w + 1)] ])

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
    let img = Png.Decode(png [ ihdr w h 8 2 0; chunk "IDAT" (imageData 3 [ filter ] rows) ])
    Assert.Equal((w, h, 3), (img.Width, img.Height, img.Channels))
    Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``Paeth breaks ties toward the left, then the upper neighbour`` () =
    // Upper-left c = 100. Left a = 80, above b = 110: p = 90, |p−a| = |p−c| = 10 → a.
    // Left a = 110, above b = 80: p = 90, |p−b| = |p−c| = 10 < |p−a| → b.
    for (a, b) in [ (80, 110); (110, 80) ] do
        let rows = [| [| 100uy; byte b |]; [| byte a; 42uy |] |]
        let img = Png.Decode(png [ ihdr 2 2 8 0 0; chunk "IDAT" (imageData 1 [ 4 ] rows) ])
        Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``decodes mixed filters across rows for grey and RGBA, split over many IDAT chunks`` () =
    for (ch, colorType) in [ (1, 0); (4, 6) ] do
        let w, h = 9, 11
        let rows = Array.init h (fun y -> Array.init (w * ch) (fun i -> byte ((i * i * 7 + y * 29) % 256)))
        let data = imageData ch [ 4; 0; 3; 1; 2 ] rows
        let idats = data |> Array.chunkBySize 5 |> Array.map (chunk "IDAT") |> List.ofArray
        let img = Png.Decode(png (ihdr w h 8 colorType 0 :: idats))
        Assert.Equal(ch, img.Channels)
        Assert.Equal<byte[]>(Array.concat rows, img.Pixels)

[<Fact>]
let ``palette images expand to RGB, or RGBA with tRNS, including 2-bit indices`` () =
    let plte = chunk "PLTE" [| 255uy; 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy; 9uy; 9uy; 9uy |]
    // 5 pixels of 2 bits each: indices 0 1 2 3 1 → 0b00011011, 0b01000000
    let rows = [| [| 0b00011011uy; 0b01000000uy |] |]
    let img = Png.Decode(png [ ihdr 5 1 2 3 0; plte; chunk "IDAT" (imageData 1 [ 1 ] rows) ])
    Assert.Equal(3, img.Channels)
    Assert.Equal<byte[]>([| 255uy; 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy; 9uy; 9uy; 9uy; 0uy; 255uy; 0uy |], img.Pixels)
    let withAlpha = Png.Decode(png [ ihdr 5 1 2 3 0; plte; chunk "tRNS" [| 10uy; 20uy |]; chunk "IDAT" (imageData 1 [ 0 ] rows) ])
    Assert.Equal(4, withAlpha.Channels)
    Assert.Equal<byte list>([ 10uy; 20uy; 255uy; 255uy; 20uy ], [ for x in 0..4 -> withAlpha[x, 0, 3] ])
    expectPngError "beyond the 2-entry palette"
        (png [ ihdr 5 1 2 3 0; chunk "PLTE" [| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |]; chunk "IDAT" (imageData 1 [ 0 ] rows) ])

[<Fact>]
let ``grey+alpha becomes RGBA, 16-bit rounds to 8, 1-bit grey scales to 0 and 255`` () =
    let ga = Png.Decode(png [ ihdr 2 1 8 4 0; chunk "IDAT" (imageData 2 [ 3 ] [| [| 7uy; 100uy; 200uy; 255uy |] |]) ])
    Assert.Equal<byte[]>([| 7uy; 7uy; 7uy; 100uy; 200uy; 200uy; 200uy; 255uy |], ga.Pixels)
    // 16-bit RGB: 0x1234 → round(4660/257) = 18, 0xFFFF → 255, 0x0080 → 0, 0x0081 → 1
    let rgb16 = Png.Decode(png [ ihdr 2 1 16 2 0; chunk "IDAT" (imageData 6 [ 4 ] [| [| 0x12uy; 0x34uy; 0xFFuy; 0xFFuy; 0uy; 0x80uy; 0uy; 0x81uy; 0uy; 0uy; 0xFFuy; 0xFFuy |] |]) ])
    Assert.Equal<byte[]>([| 18uy; 255uy; 0uy; 1uy; 0uy; 255uy |], rgb16.Pixels)
    let bits = Png.Decode(png [ ihdr 10 1 1 0 0; chunk "IDAT" (imageData 1 [ 0 ] [| [| 0b10110000uy; 0b01000000uy |] |]) ])
    Assert.Equal<byte[]>([| 255uy; 0uy; 255uy; 255uy; 0uy; 0uy; 0uy; 0uy; 0uy; 255uy |], bits.Pixels)

[<Fact>]
let ``a grey colour key in tRNS becomes an alpha channel`` () =
    let img = Png.Decode(png [ ihdr 3 1 8 0 0; chunk "tRNS" [| 0uy; 50uy |]; chunk "IDAT" (imageData 1 [ 0 ] [| [| 50uy; 51uy; 50uy |] |]) ])
    Assert.Equal(4, img.Channels)
    Assert.Equal<byte list>([ 0uy; 255uy; 0uy ], [ for x in 0..2 -> img[x, 0, 3] ])

// ---- Rejections ----

let validPng () = png [ ihdr 7 5 8 2 0; chunk "IDAT" (imageData 3 [ 4 ] (rgbRows 7 5)) ]

[<Fact>]
let ``interlaced files are rejected as interlaced`` () =
    expectPngError "interlaced" (png [ ihdr 7 5 8 2 1; chunk "IDAT" (imageData 3 [ 0 ] (rgbRows 7 5)) ])

[<Fact>]
let ``a damaged byte anywhere in a chunk is a CRC mismatch`` () =
    let good = validPng ()
    Png.Decode good |> ignore
    for i in 8 .. good.Length - 1 do
        let bad = Array.copy good
        bad[i] <- bad[i] ^^^ 0x10uy
        Assert.Throws<PngFormatException>(fun () -> Png.Decode bad |> ignore) |> ignore
    let bad = Array.copy good
    bad[45] <- bad[45] ^^^ 1uy // inside IDAT data
    expectPngError "CRC mismatch in chunk IDAT" bad

[<Fact>]
let ``every truncation is a format error`` () =
    let good = validPng ()
    for cut in 0 .. good.Length - 1 do
        Assert.Throws<PngFormatException>(fun () -> Png.Decode good[.. cut - 1] |> ignore) |> ignore
    expectPngError "truncated" good[.. good.Length - 13] // IEND removed

[<Fact>]
let ``other corrupt files say what is wrong`` () =
    expectPngError "signature" (Encoding.ASCII.GetBytes "GIF89a-not-a-png")
    expectPngError "unknown filter type 5" (png [ ihdr 2 1 8 0 0; chunk "IDAT" (zlib [| 5uy; 1uy; 2uy |]) ])
    expectPngError "truncated image data" (png [ ihdr 2 2 8 0 0; chunk "IDAT" (zlib [| 0uy; 1uy; 2uy |]) ])
    expectPngError "corrupt zlib" (png [ ihdr 2 1 8 0 0; chunk "IDAT" [| 1uy; 2uy; 3uy; 4uy |] ])
    expectPngError "unknown critical chunk ABCD" (png [ ihdr 1 1 8 0 0; chunk "ABCD" [||]; chunk "IDAT" (zlib [| 0uy; 0uy |]) ])
    expectPngError "bit depth 16 is not allowed for colour type 3" (png [ ihdr 1 1 16 3 0 ])
    expectPngError "without a PLTE" (png [ ihdr 1 1 8 3 0; chunk "IDAT" (zlib [| 0uy; 0uy |]) ])
    expectPngError "not IHDR" (png [ chunk "IDAT" (zlib [| 0uy; 0uy |]) ])
    // An ancillary chunk we do not know is skipped.
    Png.Decode(png [ ihdr 1 1 8 0 0; chunk "teXt" [| 65uy |]; chunk "IDAT" (zlib [| 0uy; 9uy |]) ]) |> ignore

[<Fact>]
let ``reading a missing file is a format error naming it`` () =
    let path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid()}.png")
    let e = Assert.Throws<PngFormatException>(fun () -> Png.Read path |> ignore)
    Assert.Contains(path, e.Message)

[<Fact>]
let ``write then read a file, atomically replacing what was there`` () =
    let dir = Directory.CreateTempSubdirectory("png-").FullName
    try
        let path = Path.Combine(dir, "a.png")
        Png.Write(path, Image(1, 1, 1, [| 3uy |]))
        Png.Write(path, Image(2, 1, 3, [| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |]))
        Assert.Equal<byte[]>([| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |], (Png.Read path).Pixels)
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
