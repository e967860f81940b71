// A short VQ-VAE training run from C#, through the same immutable types the F# surface uses.
// Run from the repository root:  dotnet run --project examples/CSharpTraining -c Release
using VqVae.Functional.Layers;
using VqVae.Functional.Losses;
using VqVae.Functional.Model;
using VqVae.Functional.Quantization;
using VqVae.Functional.Routing;
using VqVae.Functional.Checkpoints;
using VqVae.Data.Datasets;
using VqVae.Data.Images;
using VqVae.Functional.Optim;
using VqVae.Functional.Training;
using VqVae.Tensors;

Backend.Threads = 2;

// The reference architecture, narrowed so the run takes well under a minute.
var cfg = VqVaeConfig.Mnist.With(hidden: 32, codebookSize: 64, codeDim: 16);
var model = VqVaeModel.Init(cfg, Rng.Seed(42));
var adam = Adam.Create(2e-3f);
var state = adam.Init(model);

var data = SyntheticDigits.Generate(2048, Rng.Seed(1));
foreach (var batch in Batches.Stream(data, 32, Rng.Seed(2), dropLast: true).Take(150))
{
    var x = Tensor.FromArray(batch.Images, batch.Count, batch.Channels, batch.Height, batch.Width);
    (model, state, var metrics) = TrainStep.Apply(adam, model, state, x);   // pure: new model, new state
    if (metrics.Step % 25 == 0) Console.WriteLine(metrics);
}

// Gradient routing, checked the same way the tests do: the codebook term reaches only the codebook.
var probe = Tensor.FromArray(data.Take(8).Images, 8, 1, 28, 28);
var reach = Routes.Reach(m => VqVaeModel.LossTerms(m, probe).Codebook, model);
Console.WriteLine($"codebook term reaches {reach}");

// Files: a checkpoint PyTorch can load and a picture of originals above reconstructions.
var outDir = Path.Combine("examples", "out");
Directory.CreateDirectory(outDir);
Checkpoint.Save(Path.Combine(outDir, "csharp-model.safetensors"), model);
var shown = data.Take(16);
var xs = Tensor.FromArray(shown.Images, 16, 1, 28, 28);
var xHat = VqVaeModel.Reconstruct(model, xs);
ImageFile.WritePng(Path.Combine(outDir, "csharp-reconstructions.png"),
    Pictures.ReconstructionGrid(xs.ToArray(), xHat.ToArray(), 16, 1, 28, 28, columns: 8, scale: 2));
Console.WriteLine($"wrote {outDir}/csharp-model.safetensors and csharp-reconstructions.png");
