/// The attributes that make an FsCheck property an xunit test of its own (FsCheck.Xunit): the runner
/// lists each property by name, and a failure prints the shrunk case and the seed to replay it
/// (paste it as `Replay = "(seed, gamma)"` into the attribute). The project's generators are
/// registered as Arbitrary instances (Generators.Arbs, ModelGenerators.Arbs) so that a property
/// names its case by type: `let ``…`` (c: PairCase) = …`.
module VqVae.Tensors.Tests.Properties

open System
open FsCheck.Xunit

/// Multiplies every property's test count, for a deeper run than the quick default
/// (e.g. VQVAE_PROPERTY_SCALE=20 dotnet test ...).
let scale =
    match Environment.GetEnvironmentVariable "VQVAE_PROPERTY_SCALE" with
    | null -> 1
    | s -> match Int32.TryParse s with | true, n when n >= 1 -> n | _ -> 1

/// An FsCheck property that runs maxTest cases (times VQVAE_PROPERTY_SCALE): FsCheck.Xunit's
/// [<Property>] with the count as its argument, so that the scale applies to every property.
type PropertyTestAttribute(maxTest: int) as this =
    inherit PropertyAttribute()
    do this.MaxTest <- maxTest * scale
