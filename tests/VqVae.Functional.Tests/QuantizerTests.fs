/// Quantizer properties (DESIGN §4): nearest code, ties to the lowest index, straight-through values.
module VqVae.Functional.Tests.QuantizerTests

open System
open Xunit
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Functional.Tests.RoutingProperties
open VqVae.Functional.Tests.QuantizerProperties
open VqVae.Tensors.Tests.Properties

[<PropertyTest(100, Arbitrary = [| typeof<QuantizerCasesK2> |])>]
let ``quantize picks the nearest code (brute force)`` c = propertyOnEveryBackend (fun () -> quantizePicksTheNearestCode correctQuantize c)

[<PropertyTest(100, Arbitrary = [| typeof<TieCases> |])>]
let ``quantize breaks ties between duplicate codes to the lowest index`` c = propertyOnEveryBackend (fun () -> quantizeBreaksTiesToTheLowestIndex correctQuantize c)

[<PropertyTest(100, Arbitrary = [| typeof<QuantizerCases> |])>]
let ``z_q is the chosen codes and the decoder input equals z_q up to rounding`` c = propertyOnEveryBackend (fun () -> decoderInputEqualsTheChosenCodes correctQuantize c)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``the exact tie of the PyTorch fixture goes to code 4, and every index matches`` (backend: string) = onBackend backend <| fun () ->
    let f = loadFixture "distance_argmin.safetensors"
    let z, cb = tensorOf f "z", tensorOf f "codebook"
    // Rows [20,5] as z_e [20,5,1,1]: one latent position per batch element.
    let q = Quantizer.Quantize(cb, z.Reshape(20, 5, 1, 1))
    let expected = (tensorOf f "indices").ToArray() |> Array.map (fun v -> int (MathF.Round v))
    Assert.Equal<int[]>(expected, q.Indices.ToArray())
    Assert.Equal(4, q.Indices[7, 0, 0])

[<PropertyTest(100, Arbitrary = [| typeof<QuantizerCases> |])>]
let ``counts sum to the positions and 1 ≤ perplexity ≤ codes used`` (c: QuantizerCase) = holdsOnEveryBackend <| fun () ->
    let q = Quantizer.Quantize(c.Codebook, c.Latents)
    Seq.sum q.Counts = c.B * c.H * c.W && q.Perplexity >= 1.0 - 1e-12 && q.Perplexity <= float q.CodesUsed + 1e-9

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``perplexity of uniform use of n codes is n`` (backend: string) = onBackend backend <| fun () ->
    Assert.Equal(4.0, Quantizer.Perplexity [| 3; 0; 3; 3; 3 |], 12)
    Assert.Equal(1.0, Quantizer.Perplexity [| 0; 7 |], 12)

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``codes to latents inverts encoding to codes`` (backend: string) = onBackend backend <| fun () ->
    let cfg = VqVaeConfig.Small.With(hidden = 4, codebookSize = 6, codeDim = 3)
    let model = VqVaeModel.Init(cfg, Rng.Seed 11L)
    let x = Tensor.Uniform(Rng.Seed 12L, 0.0f, 1.0f, 2, 1, 8, 8)
    let codes = VqVaeModel.EncodeToCodes(model, x)
    Assert.Equal<int[]>([| 2; 2; 2 |], codes.Shape)
    let zq = VqVaeModel.CodesToLatents(model, codes)
    let q = VqVaeModel.Quantize(model, VqVaeModel.Encode(model, x))
    Assert.Equal<float32[]>(q.ZQ.ToArray(), zq.ToArray())
    Assert.Equal<float32[]>(VqVaeModel.Decode(model, zq).ToArray(), VqVaeModel.DecodeCodes(model, codes).ToArray())

[<Fact>]
let ``codes used counts the codes with at least one row`` () =
    let z = Tensor.Zeros(1, 1, 1, 1)
    let q = Quantized(z, z, z, CodeIndices.Of([| 0 |], 1, 1, 1), 1.0, Collections.Immutable.ImmutableArray.Create(2, 0, 1, 0))
    Assert.Equal(2, q.CodesUsed)
