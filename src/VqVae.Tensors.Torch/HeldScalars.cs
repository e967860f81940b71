using TorchSharp;

namespace VqVae.Tensors.Torch;

/// <summary>
/// The libtorch scalars one op passes, made explicitly and freed when the op is done.
/// </summary>
/// <remarks>
/// Why not let TorchSharp convert a float argument itself: the implicit conversion makes a
/// <see cref="Scalar"/> whose finalizer frees its native value, and nothing holds that object while
/// libtorch reads the value, so a garbage collection during the native call can free it under
/// libtorch ("Unknown scalar type", a failed toDouble check, or another number read in its place;
/// seen in CI, reproduced by TorchLifetimeTests). A scalar from here stays reachable until
/// <see cref="Dispose"/>, which the op calls after libtorch has returned.
/// </remarks>
internal sealed class HeldScalars : IDisposable
{
    private readonly List<Scalar> held = new(4);

    /// <summary>A libtorch scalar holding <paramref name="value"/>, alive until this is disposed.</summary>
    public Scalar Of(float value)
    {
        var s = value.ToScalar();
        held.Add(s);
        return s;
    }

    /// <summary>Frees every scalar made here.</summary>
    public void Dispose()
    {
        foreach (var s in held) s.Dispose();
        held.Clear();
    }
}
