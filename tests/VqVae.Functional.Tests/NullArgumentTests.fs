/// Every public method of the model library that takes a reference it declares non-null rejects
/// null for it with an ArgumentNullException naming that parameter (found missing by mutation
/// testing: a removed ThrowIfNull survived because no test passed null). Driven by reflection over
/// the public static methods, and the instance methods of the types we can build a sample of; each
/// parameter is tested with every other argument a valid sample.
module VqVae.Functional.Tests.NullArgumentTests

open System
open System.Collections
open System.Collections.Generic
open System.IO
open System.Reflection
open Xunit
open VqVae.Tensors
open VqVae.Functional.Codebooks
open VqVae.Functional.Hierarchical
open VqVae.Functional.Model
open VqVae.Functional.Optim
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Functional.Training
open VqVae.Tensors.Tests

let private dir = Scratch.path "vqvae-null"

/// One valid value per parameter type the library's public API takes (those missing from here are
/// not tested, and listed by the coverage test below).
let private samples : Lazy<IDictionary<Type, obj | null>> =
    lazy (
        Directory.CreateDirectory dir |> ignore
        let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 4, codeDim = 2)
        let model = VqVaeModel.Init(cfg, Rng.Seed 1L)
        let x = Tensor.Uniform(Rng.Seed 2L, 0f, 1f, 2, 1, 8, 8)
        let adam = Adam.Create 1e-3f
        let struct (_, grads) = Grad.ValueAndGrad(Func<VqVaeModel, Tensor>(fun m -> VqVaeModel.LossTerms(m, x).Total), model)
        let prior = PriorModel.Init(PriorConfig(4, 2, 2, 4, 2, 3), Rng.Seed 3L)
        let cfg2 = VqVae2Config(1, 4, 3, 4, 2, 0.25f)
        let model2 = VqVae2Model.Init(cfg2, Rng.Seed 4L)
        let loss2 = Func<VqVae2Model, Tensor>(fun m -> VqVae2Model.LossTerms(m, x).Total)
        let struct (_, grads2) = Grad.ValueAndGrad(loss2, model2)
        dict [
            typeof<Tensor>, box x
            typeof<VqVaeConfig>, box cfg
            typeof<VqVaeModel>, box model
            typeof<VqVae2Config>, box cfg2
            typeof<VqVae2Model>, box model2
            typeof<Gradients<VqVae2Model>>, box grads2
            typeof<Func<VqVae2Model, Tensor>>, box loss2
            typeof<PriorConfig>, box prior.Config
            typeof<PixelCnnPrior>, box prior
            typeof<CodeIndices>, box (CodeIndices.Of([| 0; 1; 2; 3; 0; 1; 2; 3 |], 2, 2, 2))
            typeof<CodeUsage>, box (CodeUsage.Empty 4)
            typeof<EmaState>, box (Ema.UnitCounts model.Codebook.Embedding)
            typeof<IOptimizer>, box adam
            typeof<Gradients<VqVaeModel>>, box grads
            typeof<OptimizerState<VqVaeModel>>, box (adam.Init model)
            typeof<TrainOptions>, box (TrainOptions())
            typeof<string>, box (Path.Combine(dir, "sample"))
            typeof<int[]>, box [| 0; 1 |]
            typeof<float32[]>, box [| 0f; 1f |]
            typeof<IEnumerable<Tensor>>, box [| x |]
            typeof<IEnumerable<int64>>, box [| 1L; 2L; 0L; 1L |]
            typeof<IEnumerable<string>>, box [| "a" |]
            typeof<IReadOnlyDictionary<string, string>>, box (readOnlyDict [ "k", "v" ])
            typeof<Func<VqVaeModel, Tensor>>, box (Func<VqVaeModel, Tensor>(fun m -> VqVaeModel.LossTerms(m, x).Total))
        ])

let private nullability = NullabilityInfoContext()

/// Parameters declared non-null and of a reference type (out parameters excluded).
let private nonNullRefs (m: MethodBase) =
    m.GetParameters()
    |> Array.filter (fun p ->
        not p.ParameterType.IsValueType && not p.ParameterType.IsByRef && not p.IsOut
        && nullability.Create(p).WriteState = NullabilityState.NotNull)

let private sampleFor (p: ParameterInfo) : (obj | null) option =
    let t = p.ParameterType
    if t.IsByRefLike then None
    elif t.IsByRef then Some null
    elif p.HasDefaultValue then Some p.DefaultValue
    elif t = typeof<int> then Some (box 1) // a count or size: 0 is often rejected before the null check
    elif t = typeof<int64> then Some (box 1L)
    elif t.IsValueType then (match samples.Value.TryGetValue t with | true, v -> Some v | _ -> Some (Activator.CreateInstance t))
    else match samples.Value.TryGetValue t with | true, v -> Some v | _ -> None

let private typeName (m: MethodInfo) = match m.DeclaringType with null -> "?" | t -> t.Name

let private libraryTypes =
    typeof<VqVaeModel>.Assembly.GetExportedTypes() |> Array.filter (fun t -> not t.ContainsGenericParameters)

/// (method, target or null) for every public method we can call: static ones, and instance ones of
/// types with a sample; generic methods, property accessors and compiler-made record members left out.
let private candidates () =
    [ for t in libraryTypes do
        let target = match samples.Value.TryGetValue t with | true, v -> Some v | _ -> None
        for m in t.GetMethods(BindingFlags.Public ||| BindingFlags.Static ||| BindingFlags.Instance ||| BindingFlags.DeclaredOnly) do
            let compilerMade = m.IsSpecialName || m.Name.StartsWith "<" || m.Name = "Equals" || m.Name = "Deconstruct" || m.Name = "PrintMembers"
            // Checks on behalf of a caller take the caller's parameter name as `argument` and report that name.
            let onBehalf = m.GetParameters() |> Array.exists (fun p -> p.Name = "argument")
            if not m.ContainsGenericParameters && not compilerMade && not onBehalf && (m.IsStatic || target.IsSome) then
                yield m, (if m.IsStatic then null else target.Value) ]

/// Calls m with null for p and samples elsewhere; a lazy sequence is enumerated (an iterator's
/// checks run on the first MoveNext). Returns the exception, or None when the call returned.
let private callWithNull (m: MethodInfo) (target: obj | null) (p: ParameterInfo) : exn option =
    let args : (obj | null)[] = m.GetParameters() |> Array.map (fun q -> if q.Position = p.Position then null else (sampleFor q).Value)
    try
        match m.Invoke(target, args) with
        | :? IEnumerable as e when not (e :? string) && not (e :? Array) -> e.GetEnumerator().MoveNext() |> ignore
        | _ -> ()
        None
    with :? TargetInvocationException as e -> Some (match e.InnerException with null -> (e :> exn) | inner -> inner)

[<Fact>]
let ``every public method of the model library names a null argument it does not accept`` () =
    let failures =
        [ for m, target in candidates () do
            let ps = nonNullRefs m
            // every argument has a sample, so only p is null in each call
            if m.GetParameters() |> Array.forall (fun q -> (sampleFor q).IsSome) then
                for p in ps do
                    match callWithNull m target p with
                    | Some (:? ArgumentNullException as e) when e.ParamName = p.Name -> ()
                    | Some e -> yield sprintf "%s.%s(%s = null): %s: %s" (typeName m) m.Name p.Name (e.GetType().Name) (e.Message.Split('\n').[0])
                    | None -> yield sprintf "%s.%s(%s = null): returned without an error" (typeName m) m.Name p.Name ]
    Assert.True(failures.IsEmpty, String.Join("\n", failures))

[<Fact>]
let ``the null-argument test reaches most of the public API`` () =
    // Guards the test above against silently testing nothing (e.g. a renamed type losing its sample).
    let all = candidates () |> List.filter (fun (m, _) -> (nonNullRefs m).Length > 0)
    let tested = all |> List.filter (fun (m, _) -> m.GetParameters() |> Array.forall (fun q -> (sampleFor q).IsSome))
    Assert.True(tested.Length >= 90, sprintf "only %d of %d methods taking non-null references are called" tested.Length all.Length)
