/// Assertions that bad input is refused the way the project promises: an argument exception that names the
/// argument and says what was expected and what came. One home for them, shared by the autodiff's tests and
/// (as a linked file) the model library's, so that every "refuses X by name" test checks the same things.
module VqVae.Tensors.Tests.Refusals

open System
open Xunit

/// `f` throws an ArgumentException (or a subclass: out of range, null) whose ParamName is `name` and whose
/// message contains every one of `parts`. Returns the exception for further checks.
let refusedNaming (name: string) (parts: string list) (f: unit -> 'a) : ArgumentException =
    let e = Assert.ThrowsAny<ArgumentException>(Action(fun () -> f () |> ignore))
    Assert.Equal(name, e.ParamName)
    for p in parts do Assert.Contains(p, e.Message)
    e

/// `f` throws exactly `'e` whose ParamName is `name` and whose message starts with `prefix` (a whole first
/// sentence pins the wording users see). Returns the exception. (`f` returns obj: F# upcasts a lambda's result to
/// it, and a generic result would need both type arguments spelled out at every call.)
let refusedAs<'e when 'e :> ArgumentException> (name: string) (prefix: string) (f: unit -> obj) : 'e =
    let e = Assert.Throws<'e>(Action(fun () -> f () |> ignore))
    Assert.Equal(name, e.ParamName)
    Assert.StartsWith(prefix, e.Message)
    e

/// `f` throws an ArgumentException (or a subclass) whose message contains every one of `parts`; for checks
/// that name the operation or the tensor in the message rather than a parameter. Returns the exception.
let refusedSaying (parts: string list) (f: unit -> 'a) : ArgumentException =
    let e = Assert.ThrowsAny<ArgumentException>(Action(fun () -> f () |> ignore))
    for p in parts do Assert.Contains(p, e.Message)
    e

/// The parameter named by the ArgumentNullException that `f` throws (exactly that type).
let nullArgumentOf (f: unit -> 'a) : string | null =
    (Assert.Throws<ArgumentNullException>(Action(fun () -> f () |> ignore))).ParamName
