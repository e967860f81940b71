/// The libtorch backend keeps every native value alive until libtorch has read it. TorchSharp reads a tensor's
/// or scalar's handle and then calls libtorch with nothing keeping the object alive, and each object's finalizer
/// frees its native value: a garbage collection during the call frees an operand under libtorch. Seen once in CI
/// (libtorch's toDouble check failing inside a division); reproduced here as "Unknown scalar type", wrong values
/// and crashes. A thread collects garbage and runs finalizers without pause while the backend's ops run many
/// times, on fresh operands nothing else holds, each result checked bit for bit against the op's result without the collector: on the code before
/// the fix it failed within 4,000 rounds in every one of seven runs. Stress can miss a rare race, so a second test
/// reads the backend's compiled code for TorchSharp's implicit float-to-Scalar conversion, its own or inside the
/// TorchSharp overloads it calls. Runs alone: it forces collections.
namespace VqVae.Tensors.Tests

open System
open System.Reflection
open System.Reflection.Emit
open System.Threading
open System.Threading.Tasks
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Backends

[<Collection("Tensor globals")>]
module TorchLifetimeTests =

    let private same (what: string) (want: float32[]) (got: float32[]) =
        Assert.Equal(want.Length, got.Length)
        for i in 0 .. want.Length - 1 do
            if BitConverter.SingleToInt32Bits want[i] <> BitConverter.SingleToInt32Bits got[i] then
                failwithf "%s: element %d is %g under collections, %g without" what i got[i] want[i]

    /// The libtorch backend's ops that pass a float (or a constant) to libtorch as a scalar, and ops whose operands
    /// are made on the spot (held by nothing but the op).
    let private ops (s: float32) : (string * (RawTensor -> RawTensor -> RawTensor)) list =
        let sq (t: RawTensor) = t.Reshape [| 4; 4 |]
        [ for op in [ BinaryOp.Add; BinaryOp.Sub; BinaryOp.Mul; BinaryOp.Div; BinaryOp.Pow ] do
            for left in [ false; true ] do
                yield sprintf "%A %s" op (if left then "s∘x" else "x∘s"), (fun x _ -> x.BinaryScalar(op, s, left))
          yield "Step", (fun x _ -> x.Unary UnaryOp.Step)
          yield "Clamp", (fun x _ -> x.Clamp(-s, s))
          yield "InRange", (fun x _ -> x.InRange(-s, s))
          yield "ReluBackward", (fun x g -> g.ReluBackward x)
          yield "SigmoidBackward", (fun x g -> g.SigmoidBackward x)
          yield "ScatterAddRows", (fun x _ -> (sq x).ScatterAddRows([| 1; 0; 1; 2 |], 3))
          yield "AdamUpdate", (fun x g ->
            let struct (p, m, v) = x.AdamUpdate(g, g, g.Unary UnaryOp.Abs, 0.01f * s, 0.9f, 0.999f, 1e-8f, 0.1f, 0.5f, 0.7f)
            p.Cat0([| m; v |]))
          yield "Binary on a fresh operand", (fun x g -> x.Binary(BinaryOp.Add, g.Unary UnaryOp.Neg))
          yield "MatMul of fresh operands", (fun x g -> (sq (x.Unary UnaryOp.Abs)).MatMul(sq (g.Unary UnaryOp.Neg), false, true))
          yield "NearestRows of fresh operands", (fun x g ->
            let idx = (sq (x.Unary UnaryOp.Neg)).NearestRows(sq (g.Unary UnaryOp.Abs))
            x.Backend.Create(Array.map float32 idx, [| idx.Length |]))
          yield "Conv2d of fresh operands", (fun x g ->
            let w = g.Narrow0(0, 8).Reshape [| 2; 1; 2; 2 |]
            (sq x).Reshape([| 1; 1; 4; 4 |]).Unary(UnaryOp.Abs).Conv2d(w.Unary UnaryOp.Neg, null, ConvGeometry(1, 1, 4, 4, 2, 2, 2, 1, 1, 0, 0, 1, 1, 3, 3)).Reshape [| 18 |]) ]

    [<Fact>]
    let ``libtorch ops give the same values while the GC runs finalizers beside them`` () =
        let torch = Backend.Get "torch"
        let xt = torch.Create(Array.init 16 (fun i -> 0.25f + float32 i * 0.125f), [| 16 |])
        let gt = torch.Create(Array.init 16 (fun i -> float32 (i - 8) * 0.5f), [| 16 |])
        let scalars = Array.init 13 (fun i -> 0.5f + float32 i * 0.25f)
        // Each op's values without the collector (the cpu backend's agreement is BackendAgreementTests' job;
        // leaving the cpu kernels out keeps this test out of their mutation runs).
        let quiet = dict [ for s in scalars do for name, f in ops s -> (s, name), (f xt gt).ToArray() ]
        use stop = new CancellationTokenSource()
        let collector = Task.Run(fun () ->
            while not stop.IsCancellationRequested do
                GC.Collect()
                GC.WaitForPendingFinalizers())
        try
            for round in 1 .. 6000 do
                let s = scalars[round % scalars.Length]
                for name, f in ops s do
                    let what = sprintf "round %d, %s (s = %g)" round name s
                    let got = try (f xt gt).ToArray() with e -> failwithf "%s: libtorch failed: %s" what (e.Message.Split('\n')[0])
                    same what quiet[(s, name)] got
        finally
            stop.Cancel()
            collector.Wait()

    /// The methods each instruction of an IL body calls (call, callvirt, newobj, ldftn), decoded with the
    /// operand sizes of System.Reflection.Emit's opcode table.
    let private calledMethods (m: MethodBase) : MethodBase list =
        let il = match m.GetMethodBody() with null -> [||] | b -> (match b.GetILAsByteArray() with null -> [||] | a -> a)
        let codes =
            typeof<OpCodes>.GetFields(BindingFlags.Public ||| BindingFlags.Static)
            |> Array.map (fun f -> f.GetValue null :?> OpCode)
            |> Array.map (fun c -> uint16 c.Value, c)
            |> dict
        let operandSize (c: OpCode) (at: int) =
            match c.OperandType with
            | OperandType.InlineNone -> 0
            | OperandType.ShortInlineBrTarget | OperandType.ShortInlineI | OperandType.ShortInlineVar -> 1
            | OperandType.InlineVar -> 2
            | OperandType.InlineI8 | OperandType.InlineR -> 8
            | OperandType.InlineSwitch -> 4 + 4 * BitConverter.ToInt32(il, at)
            | _ -> 4
        let typeArgs = match m.DeclaringType with | null -> [||] | t when t.IsGenericType -> t.GetGenericArguments() | _ -> [||]
        let methodArgs = if m.IsGenericMethod then m.GetGenericArguments() else [||]
        let rec walk at acc =
            if at >= il.Length then List.rev acc
            else
                let key, at' = if il[at] = 0xFEuy then (0xFE00us ||| uint16 il[at + 1]), at + 2 else uint16 il[at], at + 1
                let c = codes[key]
                let acc =
                    if c = OpCodes.Call || c = OpCodes.Callvirt || c = OpCodes.Newobj || c = OpCodes.Ldftn then
                        let target =
                            try m.Module.ResolveMethod(BitConverter.ToInt32(il, at'), typeArgs, methodArgs)
                            with :? ArgumentException -> null
                        match target with null -> acc | t -> t :: acc
                    else acc
                walk (at' + operandSize c at') acc
        walk 0 []

    [<Fact>]
    let ``the libtorch backend never converts a number to a TorchSharp Scalar implicitly`` () =
        let assembly = (Backend.Get "torch").GetType().Assembly
        let all = BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
        let methods =
            [ for t in assembly.GetTypes() do
                for m in Seq.append (t.GetMethods all |> Seq.cast<MethodBase>) (t.GetConstructors all |> Seq.cast<MethodBase>) do
                    yield t.FullName, m ]
        let implicitScalar (callee: MethodBase) = callee.Name = "op_Implicit" && callee.DeclaringType = typeof<TorchSharp.Scalar>
        // TorchSharp's own overloads make scalars too (add(x) is add(x, 1), alpha converted implicitly): follow
        // the TorchSharp methods the backend calls, a few calls deep, and name any that converts.
        let torchSharp = typeof<TorchSharp.Scalar>.Assembly
        let converts = Collections.Generic.Dictionary<MethodBase, bool>()
        let rec convertsWithin depth (m: MethodBase) =
            match converts.TryGetValue m with
            | true, v -> v
            | _ ->
                converts[m] <- false // a cycle counts as clean until shown otherwise
                let callees = calledMethods m
                let v =
                    callees |> List.exists implicitScalar
                    || (depth > 0 && callees |> List.exists (fun c -> c.Module.Assembly = torchSharp && convertsWithin (depth - 1) c))
                converts[m] <- v
                v
        let offenders =
            [ for owner, m in methods do
                let callees = calledMethods m
                if callees |> List.exists implicitScalar then yield sprintf "%s.%s" owner m.Name
                for c in callees do
                    if c.Module.Assembly = torchSharp && convertsWithin 2 c then
                        yield sprintf "%s.%s through TorchSharp's %s(%s)" owner m.Name c.Name (String.Join(", ", c.GetParameters() |> Array.map (fun p -> p.ParameterType.Name))) ]
            |> List.distinct
        // The decoder does see calls: the backend's own ops call TorchSharp (a guard against a scan that finds nothing).
        Assert.Contains(methods, fun (_, m) -> calledMethods m |> List.exists (fun c -> c.DeclaringType = typeof<TorchSharp.torch.Tensor>))
        Assert.True(offenders.IsEmpty, sprintf "implicit Scalar conversions (use HeldScalars.Of) in:\n%s" (String.Join("\n", offenders)))
