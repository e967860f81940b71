namespace VqVae.Tensors;
internal static class Placeholder { }
