/// Shared pieces of the second round of PyTorch parity tests (tests/fixtures/parity_*.safetensors,
/// made by make_parity_fixtures.py; README there): loading, and a per-group record of the worst
/// relative error, max|ours − torch| / max|torch| per tensor (README tolerance 1e-5).
module VqVae.Functional.Tests.ParityHelpers

open System
open System.Collections.Generic
open System.Text.Json
open Xunit
open Xunit.Abstractions
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Tests.ModelGenerators

let fmt (s: int[]) = "[" + String.Join(",", s) + "]"

/// The README's tolerance: 1e-5 of the largest expected magnitude, per tensor.
let parityTol = 1e-5

/// A JSON string value (fails on null).
let jsonString (e: JsonElement) =
    match e.GetString() with
    | null -> failwith "fixture metadata: a JSON string was null"
    | s -> s

/// A parity fixture and its tensors by name.
type Fixture(file: string) =
    let f = loadFixture file
    member _.File = file
    member _.Names = f.Names
    member _.Has(name: string) = f.Contains name
    member _.Item with get (name: string) = tensorOf f name
    member _.Meta(key: string) = f.Metadata[key]
    /// A metadata value that is JSON.
    member _.Json(key: string) = JsonDocument.Parse(f.Metadata[key]).RootElement

/// Collects (name, relative error) for one fixture group and reports the worst ones.
type Errors(group: string, output: ITestOutputHelper) =
    let errors = List<string * float>()
    let rel (ours: float32[]) (theirs: float32[]) = maxAbsDiff ours theirs / max (maxAbs theirs) 1e-30

    /// Compares shapes (exactly) and values (recorded as a relative error).
    member _.Expect(name: string, expected: Tensor, actual: Tensor | null) =
        match actual with
        | null -> failwithf "%s / %s: no value (null), expected shape %s" group name (fmt expected.Shape)
        | a ->
            Assert.True((expected.Shape = a.Shape), sprintf "%s / %s: shape %s, expected %s" group name (fmt a.Shape) (fmt expected.Shape))
            errors.Add((name, rel (a.ToArray()) (expected.ToArray())))

    /// Like Expect, but relative to max(max|expected|, scale): for a tensor that is zero in exact
    /// arithmetic (float32 noise only), measured against the size of a related tensor.
    member _.ExpectAgainst(name: string, expected: Tensor, actual: Tensor | null, scale: float) =
        match actual with
        | null -> failwithf "%s / %s: no value (null)" group name
        | a ->
            Assert.True((expected.Shape = a.Shape), sprintf "%s / %s: shape %s, expected %s" group name (fmt a.Shape) (fmt expected.Shape))
            errors.Add((name, maxAbsDiff (a.ToArray()) (expected.ToArray()) / max (maxAbs (expected.ToArray())) scale))

    /// Records a scalar's relative error.
    member _.ExpectScalar(name: string, expected: float, actual: float) =
        errors.Add((name, abs (actual - expected) / max (abs expected) 1e-30))

    member _.Count = errors.Count
    member _.Worst = if errors.Count = 0 then ("-", 0.0) else errors |> Seq.maxBy snd

    /// Prints the three worst errors and every one over tol; fails naming those over tol.
    member this.Check(?tol: float) =
        let tol = defaultArg tol parityTol
        let worst = errors |> Seq.sortByDescending snd |> Seq.truncate 3 |> Seq.map (fun (n, e) -> sprintf "%s %.3g" n e) |> String.concat ", "
        output.WriteLine(sprintf "%s: %d tensors compared, worst relative errors: %s" group errors.Count worst)
        let bad = errors |> Seq.filter (fun (_, e) -> not (e <= tol)) |> List.ofSeq
        for n, e in bad do output.WriteLine(sprintf "  over %g: %s %.3g" tol n e)
        Assert.True(bad.IsEmpty, sprintf "%s: over tolerance %g (worst of %d: %s): %A" group tol errors.Count worst bad)
