namespace VqVae.Data.Images;

/// <summary>An 8-bit RGB colour for drawing on a <see cref="Canvas"/>.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>Black.</summary>
    public static readonly Rgb Black = new(0, 0, 0);
    /// <summary>White.</summary>
    public static readonly Rgb White = new(255, 255, 255);
    /// <summary>A grey of level <paramref name="v"/>.</summary>
    public static Rgb Grey(byte v) => new(v, v, v);
}
