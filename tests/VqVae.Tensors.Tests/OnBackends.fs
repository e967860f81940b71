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

/// Runs one case of a property on every backend in turn (a [<PropertyTest>] takes its case from
/// FsCheck, so the backend cannot be a theory row): a failure names the backend it happened on.
let onEveryBackend (body: unit -> unit) =
    for row in Backends.All do
        let name = row[0] :?> string
        try onBackend name body
        with e -> raise (System.Exception(sprintf "on the %s backend: %s" name e.Message, e))

/// onEveryBackend for a property whose case returns true when it holds.
let holdsOnEveryBackend (body: unit -> bool) =
    onEveryBackend (fun () -> if not (body ()) then failwith "the property does not hold")
    true
