// The assemblies every example uses, from a Release build (dotnet build -c Release): the CLI's
// output folder holds the libraries and their NuGet dependencies; the F# surface has its own.
#I "../src/VqVae.Cli/bin/Release/net10.0"
#r "System.Numerics.Tensors.dll"
#r "VqVae.Tensors.dll"
#r "VqVae.Functional.dll"
#r "VqVae.Data.dll"
#r "../src/VqVae.FSharp/bin/Release/net10.0/VqVae.FSharp.dll"
