/// Idiomatic F# surface over the C# core (to be filled in).
module VqVae.FSharp.Library
