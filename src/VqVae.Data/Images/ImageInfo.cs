namespace VqVae.Data.Images;

/// <summary>What an image file's header declares: its size, how many channels it decodes to
/// (1 grey, 3 RGB, 4 with alpha) and its format (<c>png</c>, <c>jpeg</c>, <c>webp</c> or <c>bmp</c>).</summary>
public sealed record ImageInfo(int Width, int Height, int Channels, string Format);
