using System.Runtime.CompilerServices;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Per-thread scratch buffers, pinned and 64-byte aligned, grown on demand and then reused, so
/// kernels allocate nothing in steady state. Each slot is used by one kernel role at a time.
/// </summary>
internal static unsafe class Scratch
{
    public const int GemmA = 0, GemmB = 1, Cols = 2, Aux = 3, Out = 4, Slots = 5;

    [ThreadStatic] private static float[]?[]? arrays;
    [ThreadStatic] private static nint[]? bases;

    /// <summary>A buffer of at least <paramref name="size"/> floats, valid on this thread until the slot is next requested larger.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Get(int slot, long size)
    {
        var arrs = arrays ??= new float[]?[Slots];
        var bs = bases ??= new nint[Slots];
        var arr = arrs[slot];
        if (arr is null || arr.LongLength < size + 16) return Grow(slot, size);
        return (float*)bs[slot];
    }

    private static float* Grow(int slot, long size)
    {
        if (size + 16 > Array.MaxLength)
            throw new ArgumentException($"Scratch request of {size} floats exceeds the largest array.", nameof(size));
        // Grow geometrically so a slowly rising size does not reallocate every call.
        long cap = Math.Min(Array.MaxLength, Math.Max(size + 16, (arrays![slot]?.LongLength ?? 0) * 3 / 2));
        var arr = GC.AllocateUninitializedArray<float>((int)cap, pinned: true);
        arrays[slot] = arr;
        nint p = (nint)Unsafe.AsPointer(ref arr[0]);
        bases![slot] = (p + 63) & ~(nint)63;
        return (float*)bases[slot];
    }
}
