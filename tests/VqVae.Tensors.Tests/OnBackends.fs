/// Runs a backend-agnostic test on every backend from one source (DiffSharp style): a test takes
/// the backend's name from MemberData and runs its body with that backend as Backend.Default
/// (scoped to the test's flow, so tests on other backends can run in parallel).
module VqVae.Tensors.Tests.OnBackends

open VqVae.Tensors

/// The backends every backend-agnostic test runs on: our managed kernels and libtorch (CPU).
type Backends =
    static member All: obj array seq = seq { [| "cpu" :> obj |]; [| "torch" :> obj |] }

/// Runs <c>body</c> with the named backend as the default for new tensors.
let onBackend (name: string) (body: unit -> 'a) : 'a =
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

/// onEveryBackend for a case that returns an FsCheck Property (a labelled result): the case is
/// evaluated on each backend in turn, and the results are joined, each labelled with its backend.
let propertyOnEveryBackend (body: unit -> FsCheck.Property) =
    Backends.All
    |> Seq.map (fun row -> let name = row[0] :?> string in onBackend name body |> FsCheck.FSharp.Prop.label (sprintf "on the %s backend" name))
    |> Seq.reduce (fun a b -> FsCheck.FSharp.PropOperators.(.&.) a b)
