namespace VqVae.Functional.Optim;

/// <summary>Argument checks for hyperparameters, with messages naming the optimizer and argument.</summary>
internal static class Check
{
    internal static void NonNegative(string who, string name, float v)
    {
        if (!(v >= 0f) || float.IsInfinity(v)) throw new ArgumentOutOfRangeException(name, v, $"{who}: {name} must be finite and ≥ 0, got {v}.");
    }

    internal static void InUnit(string who, string name, float v)
    {
        if (!(v >= 0f && v < 1f)) throw new ArgumentOutOfRangeException(name, v, $"{who}: {name} must be in [0, 1), got {v}.");
    }
}
