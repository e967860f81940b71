using System.Buffers.Binary;

namespace VqVae.Tensors.IO;

/// <summary>The safetensors element types we can read, and their conversion to float32.</summary>
internal static class SafeTensorsDType
{
    public static readonly string[] Known = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"];

    /// <summary>Bytes per element, or 0 for a dtype we do not read.</summary>
    public static int SizeOf(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => 0,
    };

    /// <summary>Little-endian elements of <paramref name="dtype"/> as float32 (F32 bit patterns kept exactly).</summary>
    public static float[] ToFloat32(string dtype, ReadOnlySpan<byte> raw)
    {
        int size = SizeOf(dtype);
        if (size == 0) throw new ArgumentException($"Unknown dtype '{dtype}'.", nameof(dtype));
        int n = raw.Length / size;
        var r = new float[n];
        switch (dtype)
        {
            case "F32":
                for (int i = 0; i < n; i++) r[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]));
                break;
            case "F64":
                for (int i = 0; i < n; i++) r[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < n; i++) r[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case "BF16": // the upper half of a float32
                for (int i = 0; i < n; i++) r[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
            case "I64":
                for (int i = 0; i < n; i++) r[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]);
                break;
            case "I32":
                for (int i = 0; i < n; i++) r[i] = BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]);
                break;
            case "I16":
                for (int i = 0; i < n; i++) r[i] = BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]);
                break;
            case "I8":
                for (int i = 0; i < n; i++) r[i] = (sbyte)raw[i];
                break;
            case "U8":
                for (int i = 0; i < n; i++) r[i] = raw[i];
                break;
            case "BOOL":
                for (int i = 0; i < n; i++) r[i] = raw[i] != 0 ? 1f : 0f;
                break;
        }
        return r;
    }
}
