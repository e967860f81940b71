// The library's own namespaces, one per folder, visible in each of its files.
global using VqVae.Functional.Checkpoints;
global using VqVae.Functional.Codebooks;
global using VqVae.Functional.Layers;
global using VqVae.Functional.Losses;
global using VqVae.Functional.Model;
global using VqVae.Functional.Quantization;
global using VqVae.Functional.Routing;
