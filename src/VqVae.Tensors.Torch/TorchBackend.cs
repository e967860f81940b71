using System.Runtime.CompilerServices;
using TorchSharp;
using VqVae.Tensors.Backends;

namespace VqVae.Tensors.Torch;

/// <summary>
/// The libtorch backend over TorchSharp: raw tensors are libtorch tensors on one device (CPU, or
/// a CUDA GPU where the application ships TorchSharp's CUDA runtime). Our autodiff, parameter trees
/// and models run unchanged on it; convolutions keep a libtorch autograd record of their forward
/// pass for the weight gradient (TorchSharp has no conv backward entry point).
/// </summary>
/// <remarks>
/// Made on first use through <c>Backend.Get("torch")</c> / <c>Backend.Get("cuda")</c> or
/// <see cref="OnCpu"/> / <see cref="OnCuda"/>. libtorch's intra-op threads follow
/// <see cref="Backend.Threads"/>. TorchSharp 0.107 does not implement
/// <c>use_deterministic_algorithms</c>; libtorch's CPU kernels give the same bits run to run at a
/// fixed thread count (tested), a different thread count may change the last bits of reductions.
/// </remarks>
public sealed class TorchBackend : Backend
{
    private static readonly Lazy<TorchBackend> cpu = new(() => Make("torch", DeviceType.CPU));
    private static readonly Lazy<TorchBackend> cuda = new(() => Make("cuda", DeviceType.CUDA));

    private TorchBackend(string name, torch.Device device) { Name = name; Device = device; }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>The libtorch device tensors of this backend live on.</summary>
    public torch.Device Device { get; }

    /// <summary>libtorch on the CPU (the backend named "torch").</summary>
    public static TorchBackend OnCpu => cpu.Value;

    /// <summary>libtorch on the first CUDA GPU (the backend named "cuda"); throws a clear error where there is none.</summary>
    public static TorchBackend OnCuda => cuda.Value;

    /// <inheritdoc/>
    public override RawTensor Create(float[] data, int[] shape)
    {
        var dims = new long[shape.Length];
        for (int i = 0; i < shape.Length; i++) dims[i] = shape[i];
        var t = torch.tensor(data, dims, torch.float32);
        if (Device.type == DeviceType.CPU) return new TorchRawTensor(t, this);
        // The host copy is only a staging buffer: free it now rather than when the GC finds it.
        using (t) return new TorchRawTensor(t.to(Device), this);
    }

    /// <inheritdoc/>
    protected override void ApplyThreads(int count)
    {
        if (torch.get_num_threads() != count) torch.set_num_threads(count);
    }

    private static TorchBackend Make(string name, DeviceType type)
    {
        PassiveOpenMpWait();
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException($"backend '{name}': libtorch could not be loaded ({Inner(e)}). The application must reference a TorchSharp runtime package: TorchSharp-cpu, or TorchSharp-cuda-linux / TorchSharp-cuda-windows for a GPU.", e);
        }
        if (type == DeviceType.CUDA)
        {
            bool ok;
            try { ok = torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available(); }
            catch (Exception e) when (e is not OutOfMemoryException) { ok = false; }
            if (!ok)
                throw new ArgumentException($"backend 'cuda': no CUDA GPU or CUDA runtime is available to libtorch (torch.cuda.is_available() is false). Reference TorchSharp-cuda-linux or TorchSharp-cuda-windows instead of TorchSharp-cpu and run on a machine with an NVIDIA GPU and driver, or use the 'torch' (libtorch CPU) or 'cpu' backend.");
        }
        return new TorchBackend(name, new torch.Device(type));
    }

    // libtorch's OpenMP workers spin between parallel regions unless told otherwise; on a small or
    // shared machine that spinning doubled its CPU time at 2 threads (measured). libgomp reads the
    // setting once, when libtorch loads, from the native environment (which .NET's
    // Environment.SetEnvironmentVariable does not change on Unix), so set it there first, unless
    // the user chose a policy.
    private static void PassiveOpenMpWait()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        try { _ = setenv("OMP_WAIT_POLICY", "PASSIVE", 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);

    private static string Inner(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message.Split('\n')[0];
    }

#pragma warning disable CA2255 // a module initializer is the registration hook Backend.Get relies on
    [ModuleInitializer]
    internal static void Register()
    {
        Backend.Register("torch", () => OnCpu);
        Backend.Register("cuda", () => OnCuda);
    }
#pragma warning restore CA2255
}
