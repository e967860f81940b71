module VqVae.Functional.Tests.ChartsTests

open System
open Xunit
open VqVae.Data.Charts
open VqVae.Data.Images

let private rgbAt (img: Image) x y = int img[x, y, 0], int img[x, y, 1], int img[x, y, 2]
let private dark (r, g, b) = r < 90 && g < 90 && b < 90
let private near (r0, g0, b0) (r, g, b) = abs (r - r0) < 40 && abs (g - g0) < 40 && abs (b - b0) < 40
let private count pred (img: Image) y0 y1 =
    seq { for y in y0 .. y1 - 1 do for x in 0 .. img.Width - 1 -> pred (rgbAt img x y) } |> Seq.filter id |> Seq.length

let private metricsText steps =
    let rows =
        [ for s in 1 .. steps ->
            let t = float s
            String.Join(",", [| string s; $"{0.05 / sqrt t}"; $"{0.01 / t}"; $"{0.04 / t}"; $"{0.07 / sqrt t}"; $"{5.0 + t / 10.0}"; $"{10 + s / 5}"; $"{4.0 + t / 12.0}"; $"{12 + s / 4}"; $"{500 - s / 4}"; "900.0" |]) ]
    String.Join("\n", "step,recon,codebook,commitment,total,perplexity,used_codes,window_perplexity,window_used_codes,window_dead_codes,images_per_s" :: rows)

/// PNG bytes of the chart, decoded again: what a reader of the file gets.
let private roundTrip (img: Image) = ImageFile.Decode(ImageFile.EncodePng img)

[<Fact>]
let ``curves: three panels of the documented size, with text (the embedded font) and every series drawn`` () =
    let img = TrainingCurves.Draw(MetricsTable.Parse(metricsText 120), codebookSize = 512) |> roundTrip
    Assert.Equal((900, 900, 3), (img.Width, img.Height, img.Channels))
    // Each panel's title band holds dark text: labels are drawn even on a machine without fonts.
    for panel in 0 .. 2 do
        Assert.True(count dark img (panel * 300) (panel * 300 + 28) > 150, $"panel {panel} has no title text")
    // Series colours: recon (blue) in the loss panel, batch perplexity (orange) in the second, window codes (teal) in the third.
    Assert.True(count (near (0x1f, 0x77, 0xb4)) img 0 300 > 100, "no recon curve")
    Assert.True(count (near (0xff, 0x7f, 0x0e)) img 300 600 > 100, "no perplexity curve")
    Assert.True(count (near (0x17, 0xbe, 0xcf)) img 600 900 > 100, "no codes-used curve")

[<Fact>]
let ``curves draw what a metrics file has and refuse one without steps`` () =
    let partial = MetricsTable.Parse("step,recon\n1,0.5\n2,0.25\n3,0.125")
    let img = TrainingCurves.Draw(partial, width = 600, panelHeight = 200)
    Assert.Equal((600, 600), (img.Width, img.Height))
    let e = Assert.Throws<ArgumentException>(fun () -> TrainingCurves.Draw(MetricsTable.Parse "recon\n0.5") |> ignore)
    Assert.Contains("'step'", e.Message)
    Assert.Throws<ArgumentException>(fun () -> TrainingCurves.Draw(MetricsTable.Parse "step,recon") |> ignore) |> ignore

[<Fact>]
let ``metrics table: columns by name; a bad row names its line and column`` () =
    let t = MetricsTable.Parse("step,recon\r\n1,0.5\r\n2,2.5e-1\r\n")
    Assert.Equal(2, t.Rows)
    Assert.Equal<float[]>([| 0.5; 0.25 |], t.Column "recon")
    let e = Assert.Throws<FormatException>(fun () -> MetricsTable.Parse("step,recon\n1,0.5\n2,x", "m.csv") |> ignore)
    Assert.Contains("m.csv: line 3, column 'recon'", e.Message)
    let e2 = Assert.Throws<FormatException>(fun () -> MetricsTable.Parse("step,recon\n1", "m.csv") |> ignore)
    Assert.Contains("line 2 has 1 fields", e2.Message)
    let e3 = Assert.Throws<ArgumentException>(fun () -> t.Column "perplexity" |> ignore)
    Assert.Contains("step, recon", e3.Message)

[<Fact>]
let ``usage chart: bars fall from left to right, one red mark per dead code, title text`` () =
    let counts = [| 50L; 0L; 300L; 120L; 0L; 0L; 70L; 10L; 0L; 220L |]
    let img = CodebookUsageChart.Draw(counts, "over the last 3 steps", 600, 300) |> roundTrip
    Assert.Equal((600, 300), (img.Width, img.Height))
    Assert.True(count dark img 0 28 > 100, "no title text")
    let isBar = near (0x3c, 0x6e, 0xb4)
    let isRed (r, g, b) = r > 180 && g < 90 && b < 90
    // Bar height per column (legend excluded: it sits in the upper right, above the short bars there).
    let barHeight x = [ 0 .. img.Height - 1 ] |> List.filter (fun y -> isBar (rgbAt img x y)) |> List.length
    let heights = [ for x in 0 .. img.Width - 1 -> barHeight x ] |> List.filter (fun h -> h > 3)
    Assert.NotEmpty heights
    let runs = heights |> List.distinct
    Assert.True(runs.Length >= 5, sprintf "expected six bar heights, got %A" runs)
    // Anti-aliased edges may make a column a pixel or two taller than the one before it.
    Assert.True(runs |> List.pairwise |> List.forall (fun (a, b) -> a + 2 >= b), sprintf "bars not sorted: %A" runs)
    Assert.True(List.head runs > 4 * List.last runs, sprintf "the most used bar is not the tallest: %A" runs)
    // Dead marks: red pixels along the x axis, in four separate runs (the legend's red sample is above the plot).
    let axisRow = [ for y in img.Height / 2 .. img.Height - 1 -> y ] |> List.maxBy (fun y -> [ 0 .. img.Width - 1 ] |> List.filter (fun x -> isRed (rgbAt img x y)) |> List.length)
    let red = [ for x in 0 .. img.Width - 1 -> isRed (rgbAt img x axisRow) ]
    Assert.Equal(4, red |> List.pairwise |> List.filter (fun (a, b) -> not a && b) |> List.length)

[<Fact>]
let ``usage chart refuses empty or negative counts, and draws a codebook nobody used`` () =
    Assert.Throws<ArgumentException>(fun () -> CodebookUsageChart.Draw([||]) |> ignore) |> ignore
    let e = Assert.Throws<ArgumentException>(fun () -> CodebookUsageChart.Draw([| 1L; -2L |]) |> ignore)
    Assert.Contains("counts[1]", e.Message)
    CodebookUsageChart.Draw(Array.zeroCreate 512) |> ignore

/// Points on a 2-D plane inside D dimensions, shifted off the origin: PCA must recover their pairwise distances exactly.
let private planar (rng: Random) codes dim =
    let unit () = let v = Array.init dim (fun _ -> rng.NextDouble() - 0.5) in let n = sqrt (Array.sumBy (fun a -> a * a) v) in v |> Array.map (fun a -> a / n)
    let u = unit ()
    let w0 = unit ()
    let d = Array.map2 (*) u w0 |> Array.sum
    let w = let v = Array.map2 (fun a b -> a - d * b) w0 u in let n = sqrt (Array.sumBy (fun a -> a * a) v) in v |> Array.map (fun a -> a / n)
    let shift = Array.init dim (fun _ -> 3.0 * (rng.NextDouble() - 0.5))
    let ab = Array.init codes (fun _ -> rng.NextDouble() * 4.0 - 2.0, rng.NextDouble() - 0.5)
    let rows = ab |> Array.map (fun (a, b) -> Array.init dim (fun j -> shift[j] + a * u[j] + b * w[j]))
    rows, rows |> Array.collect (Array.map float32)

[<Fact>]
let ``PCA of a planar codebook keeps every pairwise distance and explains all the variance`` () =
    let rng = Random 7
    for codes, dim in [ (40, 8); (64, 64); (9, 3) ] do
        let rows, flat = planar rng codes dim
        let p = CodebookProjection.Pca(flat, codes, dim)
        Assert.InRange(p.Explained[0] + p.Explained[1], 0.9999, 1.0001)
        Assert.True(p.Explained[0] >= p.Explained[1])
        for i in 0 .. codes - 1 do
            for j in i + 1 .. codes - 1 do
                let d = sqrt (Array.fold2 (fun acc (a: float) b -> acc + (a - b) * (a - b)) 0.0 rows[i] rows[j])
                let dp = sqrt ((p.X[i] - p.X[j]) ** 2.0 + (p.Y[i] - p.Y[j]) ** 2.0)
                Assert.True(abs (d - dp) < 1e-4 * (1.0 + d), $"codes {i},{j}: distance {d} became {dp} (K={codes}, D={dim})")
        // Centred: the projected cloud's mean is 0; and the same codebook gives the same picture.
        Assert.InRange(Array.average p.X, -1e-6, 1e-6)
        Assert.Equal<float[]>(p.X, CodebookProjection.Pca(flat, codes, dim).X)

[<Fact>]
let ``PCA refuses a codebook of the wrong size or with NaN, naming the argument`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> CodebookProjection.Pca(Array.zeroCreate 10, 4, 3) |> ignore)
    Assert.Contains("codes·dim = 4·3 = 12", e.Message)
    let bad = Array.create 12 1f
    bad[7] <- nanf
    let e2 = Assert.Throws<ArgumentException>(fun () -> CodebookProjection.Pca(bad, 4, 3) |> ignore)
    Assert.Contains("codebook[7]", e2.Message)
    // One dimension: a line, PC2 is 0.
    let p = CodebookProjection.Pca([| 1f; 2f; 4f |], 3, 1)
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], p.Y)

[<Fact>]
let ``PCA chart: documented size, used codes as blue discs, dead codes as grey crosses, axis text`` () =
    let rng = Random 3
    let _, flat = planar rng 64 16
    let counts = Array.init 64 (fun i -> if i % 4 = 0 then 0L else int64 (i * 10))
    let img = CodebookPcaChart.Draw(flat, 64, 16, counts, "over the last 5 steps") |> roundTrip
    Assert.Equal((800, 700), (img.Width, img.Height))
    Assert.True(count dark img 0 28 > 150, "no title text")
    Assert.True(count (fun (r, g, b) -> b > 150 && r < 160 && g < 190 && b - r > 60) img 30 650 > 2000, "no used-code discs")
    Assert.True(count (near (0x99, 0x99, 0x99)) img 30 650 > 20, "no dead-code crosses")
    let e = Assert.Throws<ArgumentException>(fun () -> CodebookPcaChart.Draw(flat, 64, 16, Array.zeroCreate 63) |> ignore)
    Assert.Contains("one count per code (64)", e.Message)
