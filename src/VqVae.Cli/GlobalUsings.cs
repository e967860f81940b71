global using VqVae.Tensors;
global using VqVae.Tensors.IO;
