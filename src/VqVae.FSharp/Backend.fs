namespace VqVae.FSharp

open VqVae.Tensors

/// The tensor backends (where tensors live and whose kernels run them). One line chooses one:
/// `Backend.useDefault (Backend.torch ())`. `torch` and `cuda` need VqVae.Tensors.Torch.dll and a
/// TorchSharp runtime next to the application (the CLI's build folder has both, with TorchSharp-cpu);
/// they are functions so that code which never asks for libtorch never loads it.
[<RequireQualifiedAccess>]
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Backend =
    /// Our managed CPU kernels (the default).
    let cpu: Backend = Backend.Cpu
    /// libtorch on the CPU (loaded on first use; a clear error when libtorch is not there).
    let torch () : Backend = Backend.Get "torch"
    /// libtorch on the first CUDA GPU (a clear error where there is none).
    let cuda () : Backend = Backend.Get "cuda"
    /// The backend called `name` ("cpu", "torch", "cuda").
    let get (name: string) : Backend = Backend.Get name
    /// Makes `backend` the default for every tensor made from now on (process-wide).
    let useDefault (backend: Backend) = Backend.Default <- backend
    /// The backend new tensors go to.
    let current () : Backend = Backend.Default
    /// The tree (a model, an optimizer state) with every leaf on `backend`.
    let moveTree (backend: Backend) (tree: 'T) : 'T = Tree.To(tree, backend)
    /// The tensor on `backend`.
    let move (backend: Backend) (t: Tensor) = t.To backend
    /// Worker threads for every backend's kernels.
    let setThreads (n: int) = Backend.Threads <- n
