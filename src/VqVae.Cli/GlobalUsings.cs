// Namespaces nearly every file of the command uses (parsing, invariant formatting, inputs and output).
global using System.CommandLine;
global using System.Globalization;
global using VqVae.Cli.Input;
global using VqVae.Cli.Output;
global using VqVae.Tensors;
global using VqVae.Tensors.IO;
