/// Parameter trees and their gradients (Tree, TreeWriter, TreeReader, Gradients): every check names its
/// argument, a tree that reads back more or fewer leaves than it wrote is caught, and missing gradients stay missing.
module VqVae.Tensors.Tests.TreeTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.Refusals

/// Two leaves, the second inside a child: names "a" and "sub.b".
type private Two =
    { A: Tensor; B: Tensor }
    interface IParameterTree<Two> with
        member t.Flatten w =
            w.Leaf("a", t.A)
            w.Child("sub", fun (w: TreeWriter) -> w.Leaf("b", t.B))
        member _.Unflatten r = { A = r.Leaf(); B = r.Leaf() }

/// As many leaves as it holds: two trees of one type can differ in size.
type private Many =
    { Xs: Tensor list }
    interface IParameterTree<Many> with
        member t.Flatten w = t.Xs |> List.iteri (fun i x -> w.Leaf(string i, x))
        member t.Unflatten r = { Xs = t.Xs |> List.map (fun _ -> r.Leaf()) }

/// Broken on purpose: writes one leaf but reads two back, or none.
type private Greedy =
    { G: Tensor }
    interface IParameterTree<Greedy> with
        member t.Flatten w = w.Leaf("g", t.G)
        member _.Unflatten r = { G = r.Leaf() + r.Leaf() }

type private Lazy =
    { L: Tensor }
    interface IParameterTree<Lazy> with
        member t.Flatten w = w.Leaf("l", t.L)
        member t.Unflatten _ = t

let private two () = { A = Tensor.FromArray([| 3f; 4f |], 2); B = Tensor.Zeros(2, 2) }

[<Fact>]
let ``tree functions name a missing argument`` () =
    let t = two ()
    Assert.Equal("tree", nullArgumentOf (fun () -> Tree.Leaves(Unchecked.defaultof<Two>)))
    Assert.Equal("template", nullArgumentOf (fun () -> Tree.FromLeaves(Unchecked.defaultof<Two>, [| t.A; t.B |])))
    Assert.Equal("leaves", nullArgumentOf (fun () -> Tree.FromLeaves(t, Unchecked.defaultof<Tensor[]>)))
    Assert.Equal("f", nullArgumentOf (fun () -> Tree.Map(t, Unchecked.defaultof<Func<Tensor, Tensor>>)))
    Assert.Equal("f", nullArgumentOf (fun () -> Tree.Map2(t, t, Unchecked.defaultof<Func<Tensor, Tensor, Tensor>>)))
    Assert.Equal("backend", nullArgumentOf (fun () -> Tree.To(t, Unchecked.defaultof<Backend>)))
    Assert.Equal("backend", nullArgumentOf (fun () -> Tree.To({ Xs = [] }, Unchecked.defaultof<Backend>)))   // even with no leaf to move
    let w = TreeWriter()
    Assert.Equal("name", nullArgumentOf (fun () -> w.Leaf(Unchecked.defaultof<string>, t.A); obj ()))
    refusedAs<ArgumentNullException> "value" "tree: leaf 'x' is null." (fun () -> w.Leaf("x", Unchecked.defaultof<Tensor>); obj ()) |> ignore
    Assert.Equal("body", nullArgumentOf (fun () -> w.Child("c", Unchecked.defaultof<Action<TreeWriter>>); obj ()))
    Assert.Empty(w.Leaves)

[<Fact>]
let ``a tree is rebuilt only from as many leaves as it has, none null, all read back`` () =
    let t = two ()
    Assert.Equal<string seq>([ "a"; "sub.b" ], Tree.Names t)
    refusedAs<ArgumentException> "leaves" "tree: expected 2 leaves for Two, got 1." (fun () -> Tree.FromLeaves(t, [| t.A |])) |> ignore
    refusedAs<ArgumentException> "leaves" "tree: leaf 1 ('sub.b') of Two is null." (fun () -> Tree.FromLeaves(t, [| t.A; Unchecked.defaultof<Tensor> |])) |> ignore
    let e = Assert.Throws<InvalidOperationException>(fun () -> Tree.FromLeaves({ G = t.A }, [| t.A |]) |> ignore)
    Assert.Equal("tree: asked for leaf 2 but only 1 were given.", e.Message)
    let e = Assert.Throws<InvalidOperationException>(fun () -> Tree.FromLeaves({ L = t.A }, [| t.A |]) |> ignore)
    Assert.Equal("tree: 1 leaves were given but the tree used 0.", e.Message)
    let a, b = { Xs = [ t.A; t.A ] }, { Xs = [ t.A; t.A; t.A ] }
    refusedAs<ArgumentException> "b" "tree: the trees differ in size (2 vs 3 leaves)." (fun () -> Tree.Map2(a, b, fun x _ -> x)) |> ignore

[<Fact>]
let ``gradients keep missing leaves missing through map, norm and printing, and name a bad lookup`` () =
    let t = two ()
    Assert.Equal("parameters", nullArgumentOf (fun () -> Gradients<Two>(Unchecked.defaultof<Two>, [| t.A; t.B |])))
    Assert.Equal("gradients", nullArgumentOf (fun () -> Gradients<Two>(t, Unchecked.defaultof<Tensor[]>)))
    let g = Gradients<Two>(t, [| (t.A: Tensor | null); null |])
    Assert.True(g.Reaches "a")
    Assert.False(g.Reaches "sub.b")
    Assert.Equal(5.0, g.GlobalNorm())
    let doubled = g.Map(fun x -> x * 2f)
    Assert.Equal<float32[]>([| 6f; 8f |], (nonNull doubled["a"]).ToArray())
    Assert.Null(doubled["sub.b"])
    Assert.Equal(10.0, doubled.GlobalNorm())
    Assert.Equal("f", nullArgumentOf (fun () -> g.Map(Unchecked.defaultof<Func<Tensor, Tensor>>)))
    Assert.Equal("Gradients<Two>(a, sub.b: none)", g.ToString())
    Assert.Equal("name", nullArgumentOf (fun () -> g[Unchecked.defaultof<string>] |> ignore; obj ()))
