/// The checker itself: it must accept a correct gradient and reject a wrong one.
module VqVae.Tensors.Tests.FiniteDiffTests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends

let private x () = Tensor.FromArray([| 0.7f; -1.2f; 1.9f; 0.6f |], 2, 2)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``accepts a correct gradient`` (backend: string) = onBackend backend <| fun () ->
    FiniteDiff.check1 (fun t -> tanh t * t) (x ())

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``rejects a gradient that is off by a factor`` (backend: string) = onBackend backend <| fun () ->
    // AD sees x·sg(x) (gradient x), finite differences see x² (gradient 2x)
    let e = Assert.ThrowsAny<exn>(fun () -> FiniteDiff.check1 (fun t -> t * t.NoDiff()) (x ()))
    Assert.Contains("finite differences", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``rejects a gradient wrong in a single element`` (backend: string) = onBackend backend <| fun () ->
    // only element 3 goes through the stop-gradient
    let mask = Tensor.FromArray([| 0f; 0f; 0f; 1f |], 2, 2)
    let e = Assert.ThrowsAny<exn>(fun () -> FiniteDiff.check1 (fun t -> t * (1f - mask) + (t * t.NoDiff() - t.NoDiff() * t.NoDiff() + t.NoDiff().Square()) * mask) (x ()))
    Assert.Contains("element 3", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``rejects an input that gets no gradient`` (backend: string) = onBackend backend <| fun () ->
    let e = Assert.ThrowsAny<exn>(fun () -> FiniteDiff.check1 (fun t -> t.NoDiff() * 2f) (x ()))
    Assert.Contains("no gradient", e.Message)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``rejects a gradient of the wrong sign in one of several inputs`` (backend: string) = onBackend backend <| fun () ->
    let y = Tensor.FromArray([| 0.5f; 1.5f |], 2)
    // value a + b (finite differences: +1 for b), but AD sees a + 2·sg(b) − b (−1 for b)
    let e = Assert.ThrowsAny<exn>(fun () -> FiniteDiff.check (fun ts -> ts[0] + (2f * ts[1].NoDiff() - ts[1]).Reshape(1, 2)) [| x (); y |])
    Assert.Contains("input 1", e.Message)
