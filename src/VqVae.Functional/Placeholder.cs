namespace VqVae.Functional;
internal static class Placeholder { }
