module VqVae.Functional.Tests.CliOptionTableTests

// Issue 15.4: every option of every verb, fed non-numbers, negatives, zero, NaN, infinity and huge
// values, is refused by one line naming the option, what it expects and what it got (exit 2), or
// accepted where the value is in the option's documented range. The verbs and options are read from
// the command tree itself, so a verb or option added later is covered without editing this table.

open System
open System.Globalization
open System.IO
open Xunit
open VqVae.Cli

let private check (args: string list) =
    use err = new StringWriter()
    let code = CliApp.Check(Array.ofList args, err)
    code, err.ToString()

let private root = CliApp.Root(VqVae.Cli.Output.Terminal.ForWriters(TextWriter.Null, TextWriter.Null))

let private verbs = [ for c in root.Subcommands -> c ]

let private valueOptions (cmd: System.CommandLine.Command) =
    [ for o in cmd.Options do
        if o.ValueType <> typeof<bool> && not (o.Name.StartsWith "-h") && o.Name <> "--help" then yield o ]

let private isNumeric (o: System.CommandLine.Option) =
    o.ValueType = typeof<int> || o.ValueType = typeof<Nullable<int>> || o.ValueType = typeof<float32> || o.ValueType = typeof<Nullable<float32>>

/// The required options of a verb with placeholder values (parse-level checks never open them).
let private required (cmd: System.CommandLine.Command) (except: string) =
    [ for o in cmd.Options do
        if o.Required && o.Name <> except then yield! [ o.Name; "placeholder" ] ]

/// Never a valid value of any numeric option.
let alwaysBad = [ "abc"; ""; "NaN"; "nan"; "Infinity"; "inf"; "-inf"; "1e999"; "99999999999999"; "1,5"; "0x10"; "1_000"; "12abc" ]

/// Where zero and negative numbers are in range (everything else refuses them).
let zeroAllowed = set [ "--seed"; "--warmup"; "--pretrain"; "--beta"; "--top-k"; "--checkpoint-every"; "--dead-code-share" ]
let negativeAllowed = set [ "--seed" ]

/// A culture whose decimal mark is ',' and thousands separator '.' (built by hand: the test host may
/// run in globalization-invariant mode, where named cultures such as de-DE do not exist).
let private commaCulture () =
    let c = CultureInfo.InvariantCulture.Clone() :?> CultureInfo
    c.NumberFormat.NumberDecimalSeparator <- ","
    c.NumberFormat.NumberGroupSeparator <- "."
    c

let private withCulture (_: string) (f: unit -> unit) =
    let before = CultureInfo.CurrentCulture
    CultureInfo.CurrentCulture <- commaCulture ()
    try f () finally CultureInfo.CurrentCulture <- before

let private assertRefused (verb: string) (option: string) (value: string) (code: int, err: string) =
    let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Assert.True((code = ExitCodes.Usage), $"{verb} {option} '{value}': expected exit 2, got {code}: {err}")
    Assert.True((lines.Length = 1), $"{verb} {option} '{value}': expected one line, got:\n{err}")
    Assert.Contains(option, lines[0])
    Assert.Contains($"'{value}'", lines[0])
    Assert.Contains("expects", lines[0])
    Assert.DoesNotContain("   at ", err)

[<Fact>]
let ``the table covers every verb, and each has numeric options`` () =
    let names = verbs |> List.map (fun c -> c.Name) |> Set.ofList
    for v in [ "train"; "reconstruct"; "routes"; "gradients"; "bench" ] do
        Assert.True(names.Contains v, $"verb {v} is missing")
    for c in verbs do
        Assert.True(valueOptions c |> List.exists isNumeric, $"{c.Name} has no numeric option (--threads at least)")

[<Fact>]
let ``every numeric option of every verb refuses non-numbers, NaN, infinity, huge values and decimal commas, in any culture`` () =
    withCulture "de-DE" (fun () ->
        let mutable cases = 0
        for cmd in verbs do
            for o in valueOptions cmd |> List.filter isNumeric do
                for v in alwaysBad do
                    let args = [ cmd.Name ] @ required cmd o.Name @ [ o.Name; v ]
                    assertRefused cmd.Name o.Name v (check args)
                    cases <- cases + 1
        Assert.True(cases > 150, $"only {cases} cases"))

[<Fact>]
let ``zero and negative values are refused exactly where they are out of range`` () =
    for cmd in verbs do
        for o in valueOptions cmd |> List.filter isNumeric do
            for v in [ "0"; "-1"; "-2147483649" ] do
                let args = [ cmd.Name ] @ required cmd o.Name @ [ o.Name; v ]
                let allowed =
                    match v with
                    | "0" -> zeroAllowed.Contains o.Name
                    | "-1" -> negativeAllowed.Contains o.Name
                    | _ -> false
                if allowed then
                    let code, err = check args
                    Assert.True((code = ExitCodes.Ok), $"{cmd.Name} {o.Name} {v} should parse: {err}")
                else
                    assertRefused cmd.Name o.Name v (check args)

[<Fact>]
let ``valid values parse, also under a culture whose decimal mark is a comma`` () =
    withCulture "de-DE" (fun () ->
        for cmd in verbs do
            for o in valueOptions cmd |> List.filter isNumeric do
                let v = if o.ValueType = typeof<float32> || o.ValueType = typeof<Nullable<float32>> then "0.5" else "2"
                let code, err = check ([ cmd.Name ] @ required cmd o.Name @ [ o.Name; v ])
                Assert.True((code = ExitCodes.Ok), $"{cmd.Name} {o.Name} {v}: {err}"))

[<Fact>]
let ``huge sizes are refused at parse time with the documented limit`` () =
    for args, option in
        [ [ "train"; "--steps"; "2147483647" ], "--steps"
          [ "train"; "--epochs"; "20000000" ], "--epochs"
          [ "train"; "--codebook"; "100000000" ], "--codebook"
          [ "train"; "--dim"; "1000000" ], "--dim"
          [ "train"; "--hidden"; "1000000" ], "--hidden"
          [ "bench"; "--steps"; "2147483647" ], "--steps"
          [ "train"; "--lr"; "1e30" ], "--lr"
          [ "train"; "--dead-code-share"; "1" ], "--dead-code-share" ] do
        let code, err = check args
        assertRefused args[0] option (List.last args) (code, err)
        Assert.Contains(" to ", err.Replace("≤", " to "))

[<Fact>]
let ``an unknown or missing verb names the verbs instead of 'Required command was not provided'`` () =
    let code, err = check [ "trian"; "--steps"; "3" ]
    Assert.Equal(ExitCodes.Usage, code)
    Assert.Contains("unknown verb 'trian'", err)
    Assert.Contains("train, reconstruct", err)
    Assert.DoesNotContain("Required command", err)
    let code, err = check []
    Assert.Equal(ExitCodes.Usage, code)
    Assert.Contains("no verb given", err)

[<Fact>]
let ``an unknown --preset is named`` () =
    let code, err = check [ "train"; "--preset"; "nonsense" ]
    Assert.Equal(ExitCodes.Usage, code)
    Assert.Contains("--preset expects mnist, mnistSmall, paper or vqvae2, got 'nonsense'", err)
    Assert.Equal(ExitCodes.Ok, fst (check [ "train"; "--resume"; "m.safetensors"; "--lr"; "1e-4" ]))
