/// Runs a backend-agnostic test on every backend from one source (DiffSharp style): a test takes
/// the backend's name from MemberData and runs its body with that backend as Backend.Default
/// (scoped to the test's flow, so tests on other backends can run in parallel).
module VqVae.Tensors.Tests.OnBackends

open VqVae.Tensors

/// The backends every backend-agnostic test runs on: our managed kernels and libtorch (CPU).
type Backends =
    static member All: obj array seq = seq { [| "cpu" :> obj |]; [| "torch" :> obj |] }

/// Runs <c>body</c> with the named backend as the default for new tensors.
let onBackend (name: string) (body: unit -> unit) =
    use _ = Backend.Use(Backend.Get name)
    body ()
