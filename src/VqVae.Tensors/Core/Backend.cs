using System.Reflection;
using System.Runtime.CompilerServices;
using VqVae.Tensors.Backends;
using VqVae.Tensors.Backends.Cpu;

namespace VqVae.Tensors;

/// <summary>
/// Where tensors live and whose kernels run them (after DiffSharp's backends): the managed CPU
/// backend (<see cref="Cpu"/>, the default) or libtorch (<c>"torch"</c>, <c>"cuda"</c>, from the
/// VqVae.Tensors.Torch assembly). The autodiff, parameter trees and model code are the same on
/// every backend; a tensor knows its backend, new tensors go to <see cref="Default"/>, and an op
/// whose operands sit on two backends is an error naming both.
/// </summary>
/// <example><code>
/// Backend.Default = Backend.Get("torch");           // every new tensor on libtorch (CPU)
/// var model = Tree.To(VqVae.Init(cfg, rng), Backend.Cpu);   // or move one tree explicitly
/// </code></example>
public abstract class Backend
{
    private static readonly Dictionary<string, Func<Backend>> factories = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<string, Backend> made = new(StringComparer.OrdinalIgnoreCase);
    private static readonly object gate = new();
    private static Backend? defaultBackend;
    private static readonly AsyncLocal<Backend?> scoped = new();
    private static int threads = Environment.ProcessorCount;

    /// <summary>The backend's name as the command line spells it ("cpu", "torch", "cuda").</summary>
    public abstract string Name { get; }

    /// <summary>A raw tensor on this backend holding <paramref name="data"/> (the backend may keep the array: the caller hands it over).</summary>
    public abstract RawTensor Create(float[] data, int[] shape);

    /// <summary>Called with the new worker count when <see cref="Threads"/> changes (and once when the backend is made).</summary>
    protected virtual void ApplyThreads(int count) { }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>The managed CPU backend (our own kernels; no native dependencies).</summary>
    public static Backend Cpu => CpuBackend.Instance;

    /// <summary>
    /// Where new tensors go (<c>Tensor.FromArray</c>, <c>Tensor.Zeros</c>, checkpoints, datasets):
    /// the innermost <see cref="Use"/> scope's backend on this flow of execution, else the
    /// process-wide setting (<see cref="Cpu"/> until set).
    /// </summary>
    public static Backend Default
    {
        get => scoped.Value ?? defaultBackend ?? CpuBackend.Instance;
        set => defaultBackend = value ?? throw new ArgumentNullException(nameof(value), "backend: Default cannot be null.");
    }

    /// <summary>
    /// Makes <paramref name="backend"/> the <see cref="Default"/> for this thread and the tasks it
    /// starts until the returned scope is disposed (scopes nest); other threads keep theirs.
    /// </summary>
    /// <example><code>using (Backend.Use(Backend.Get("torch"))) { var model = VqVae.Init(cfg, rng); }</code></example>
    public static IDisposable Use(Backend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var outer = scoped.Value;
        scoped.Value = backend;
        return new Restore(outer);
    }

    private sealed class Restore(Backend? outer) : IDisposable
    {
        private bool done;
        public void Dispose()
        {
            if (done) return;
            done = true;
            scoped.Value = outer;
        }
    }

    /// <summary>
    /// Worker threads for every backend's kernels (ours and libtorch's intra-op pool); default:
    /// the processor count. Results on the CPU backend are bitwise the same at any count.
    /// </summary>
    public static int Threads
    {
        get => threads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "backend: Threads must be at least 1.");
            Backend[] live;
            lock (gate) { threads = value; live = [.. made.Values]; }
            Threading.Threads = value;
            foreach (var b in live) b.ApplyThreads(value);
        }
    }

    /// <summary>
    /// Makes a backend available to <see cref="Get"/> under <paramref name="name"/> (called by backend
    /// assemblies; the factory runs once, on first use).
    /// </summary>
    public static void Register(string name, Func<Backend> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        lock (gate) factories[name] = factory;
    }

    /// <summary>The names <see cref="Get"/> accepts without loading another assembly.</summary>
    public static IReadOnlyList<string> Registered
    {
        get { lock (gate) return ["cpu", .. factories.Keys.Order(StringComparer.Ordinal)]; }
    }

    /// <summary>
    /// The backend called <paramref name="name"/>: "cpu", or "torch" / "cuda" (libtorch), which load
    /// the VqVae.Tensors.Torch assembly on first use. Throws <see cref="ArgumentException"/> naming
    /// what is missing when the backend cannot be made (assembly not referenced, no CUDA device).
    /// </summary>
    public static Backend Get(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (string.Equals(name, "cpu", StringComparison.OrdinalIgnoreCase)) return Cpu;
        Func<Backend>? factory;
        lock (gate)
        {
            if (made.TryGetValue(name, out var b)) return b;
            factories.TryGetValue(name, out factory);
        }
        if (factory is null && LoadProvider(name)) lock (gate) factories.TryGetValue(name, out factory);
        if (factory is null)
            throw new ArgumentException($"backend: unknown backend '{name}'; expected one of {string.Join(", ", Registered.Concat(Known.Keys).Distinct())}.", nameof(name));
        var backend = factory(); // may throw a clear error (e.g. no CUDA device); nothing is cached then
        lock (gate)
        {
            if (made.TryGetValue(name, out var other)) return other;
            made[name] = backend;
        }
        backend.ApplyThreads(Threads);
        return backend;
    }

    // Backends that live in their own assembly, loaded by name so that this assembly needs no
    // reference to them (and an application without libtorch never loads it).
    private static readonly Dictionary<string, string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["torch"] = "VqVae.Tensors.Torch",
        ["cuda"] = "VqVae.Tensors.Torch",
    };

    private static bool LoadProvider(string name)
    {
        // Stryker disable once Boolean : Get looks the factory up again after a true answer and finds none for a name no assembly registered, so it throws the same unknown-backend error
        if (!Known.TryGetValue(name, out var assemblyName)) return false;
        Assembly asm;
        try { asm = Assembly.Load(assemblyName); }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ArgumentException($"backend '{name}': the assembly {assemblyName} could not be loaded ({e.Message}); reference the VqVae.Tensors.Torch project or package and a TorchSharp runtime package (TorchSharp-cpu, or TorchSharp-cuda-linux / TorchSharp-cuda-windows for a GPU).", e);
        }
        // The assembly's module initializer registers its backends.
        RuntimeHelpers.RunModuleConstructor(asm.ManifestModule.ModuleHandle);
        return true;
    }

    /// <summary>
    /// Throws a clear error when <paramref name="other"/> is on another backend than <paramref name="self"/>:
    /// backends call this before reading another raw tensor's storage.
    /// </summary>
    public static void CheckSame(string op, RawTensor self, RawTensor other)
    {
        ArgumentNullException.ThrowIfNull(self);
        CheckSame(op, self.Backend, other);
    }

    /// <summary>
    /// The same check against a backend, for a caller that holds no raw tensor of its own (a recorded
    /// backward pass receiving its output gradient).
    /// </summary>
    public static void CheckSame(string op, Backend self, RawTensor other)
    {
        ArgumentNullException.ThrowIfNull(self); ArgumentNullException.ThrowIfNull(other);
        if (!ReferenceEquals(self, other.Backend))
            throw new ArgumentException($"{op}: the operands are on different backends, {self.Name} and {other.Backend.Name}; move one with Tensor.To(backend) (or a model with Tree.To).");
    }
}
