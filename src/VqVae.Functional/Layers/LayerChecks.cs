namespace VqVae.Functional.Layers;

internal static class LayerChecks
{
    internal static void Positive(string op, string name, int value)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{op}: {name} must be ≥ 1, got {value}.");
    }
}
