/// The counter-based random keys: reproducible, independent streams, right ranges and moments.
module VqVae.Tensors.Tests.RngTests

open Xunit
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.Generators
open VqVae.Tensors.Tests.Properties

[<PropertyTest(50)>]
let ``the same seed gives the same values`` () =
    Prop.forAll (Arb.fromGen (Gen.choose (-1000000, 1000000))) (fun seed ->
        let a, b = Rng.Seed(int64 seed), Rng.Seed(int64 seed)
        Assert.Equal<float32[]>(a.Uniform(100, -1f, 1f), b.Uniform(100, -1f, 1f))
        Assert.Equal<float32[]>(a.Normal(101), b.Normal(101))
        Assert.Equal<int[]>(a.Permutation(30), b.Permutation(30))
        Assert.Equal<float32[]>(Tensor.Uniform(a, 0f, 1f, 3, 4).ToArray(), Tensor.Uniform(b, 0f, 1f, 3, 4).ToArray()))

[<Fact>]
let ``different seeds, folds and splits give different streams`` () =
    let k = Rng.Seed(42L)
    let struct (k1, k2) = k.Split()
    // (Split is Fold(1), Fold(2) today, so those two folds are left out: they are the split keys)
    let streams = [ k; Rng.Seed(43L); k1; k2; k.Fold(0L); k.Fold(3L); k.Fold(-1L); k1.Fold(1L); k2.Fold(1L) ]
    let draws = streams |> List.map (fun r -> r.Uniform(16, 0f, 1f))
    for i in 0 .. draws.Length - 1 do
        for j in i + 1 .. draws.Length - 1 do
            // 16 independent 24-bit draws agree by chance with probability ~2^-384
            Assert.NotEqual<float32[]>(draws[i], draws[j])
    // split and fold are pure: the same derivation gives the same key
    let struct (again, _) = k.Split()
    Assert.Equal(k1, again)
    Assert.Equal(k.Fold(5L), k.Fold(5L))

[<Fact>]
let ``uniform draws lie in [lo, hi) and cover it`` () =
    let u = Rng.Seed(1L).Uniform(100_000, -3f, 5f)
    Assert.All(u, fun v -> Assert.InRange(v, -3f, 5f); Assert.True(v < 5f))
    Assert.True(Array.min u < -2.99f && Array.max u > 4.99f)
    let mean = u |> Array.averageBy float
    Assert.InRange(mean, 0.97, 1.03)
    let t = Tensor.Uniform(Rng.Seed(2L), 0.5f, 2f, 1000)
    Assert.All(t.ToArray(), fun v -> Assert.InRange(v, 0.5f, 2f))

[<Fact>]
let ``normal draws have roughly the requested mean and std over 100k`` () =
    let xs = Rng.Seed(3L).Normal(100_000, 1.5f, 2f) |> Array.map float
    let mean = Array.average xs
    let std = sqrt (xs |> Array.averageBy (fun x -> (x - mean) ** 2.0))
    // standard errors: 2/√1e5 ≈ 0.0063 for the mean, ≈ 0.0045 for the std
    Assert.InRange(mean, 1.47, 1.53)
    Assert.InRange(std, 1.97, 2.03)
    // roughly normal: about 68% within one std
    let within = xs |> Array.filter (fun x -> abs (x - 1.5) < 2.0) |> Array.length
    Assert.InRange(float within / 1e5, 0.675, 0.69)
    let t = Tensor.Normal(Rng.Seed(4L), 0f, 1f, 10, 10)
    Assert.Equal<int[]>([| 10; 10 |], t.Shape)

[<PropertyTest(50)>]
let ``permutation is a permutation`` () =
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 200)) (Gen.choose (0, 1000000)))) (fun (n, seed) ->
        let p = Rng.Seed(int64 seed).Permutation(n)
        Assert.Equal<int[]>(Array.init n id, Array.sort p))

[<Fact>]
let ``permutation shuffles`` () =
    Assert.NotEqual<int[]>(Array.init 50 id, Rng.Seed(9L).Permutation(50))

[<Fact>]
let ``intAt stays in range`` () =
    let r = Rng.Seed(5L)
    for i in 0L .. 999L do Assert.InRange(r.IntAt(i, 7), 0, 6)

[<Fact>]
let ``the key mixing is SplitMix64's: its published first outputs from state 0`` () =
    // SplitMix64 from state 0 outputs mix(γ), then mix(2γ): E220A8397B1DCDAF, 6E789E6AA1B965F4.
    // Seed(s) is mix(s xor γ), so these two seeds must give exactly those keys.
    let g = 0x9E3779B97F4A7C15UL
    Assert.Equal(0xE220A8397B1DCDAFUL, Rng.Seed(0L).Key)
    Assert.Equal(0x6E789E6AA1B965F4UL, Rng.Seed(int64 (g ^^^ (2UL * g))).Key)

[<Fact>]
let ``the streams are pinned: a seeded run draws the same numbers in every version`` () =
    // Seeded initialisations, k-means, sampling and users' runs depend on these exact values, so a change
    // to any derivation (fold, bits, the float, integer, normal or permutation draws) must be deliberate.
    let k = Rng.Seed 42L
    Assert.Equal(0x14E90EC1496BA871UL, k.Fold(7L).Key)
    Assert.Equal((0x4D614BA356729E82UL, 0xBC53A9D5EBC02EADUL), (k.Bits 0L, k.Bits 5L))
    Assert.Equal<int[]>([| 1050329750; 1046462376; 994170624 |], k.Uniform(3, 0f, 1f) |> Array.map System.BitConverter.SingleToInt32Bits)
    Assert.Equal<int[]>([| 302; 218; 2; 338; 229; 735 |], Array.init 6 (fun i -> k.IntAt(int64 i, 1000)))
    Assert.Equal<int[]>([| 1070455574; 1082200513; -1071289223 |], k.Normal(3, 1f, 2f) |> Array.map System.BitConverter.SingleToInt32Bits)
    Assert.Equal<int[]>([| 6; 7; 0; 5; 1; 4; 3; 2 |], k.Permutation 8)

[<Fact>]
let ``counts and ranges are checked by name, and empty draws are allowed`` () =
    let k = Rng.Seed 1L
    for n in [ 0; -3 ] do
        let e = Assert.Throws<System.ArgumentOutOfRangeException>(fun () -> k.IntAt(0L, n) |> ignore)
        Assert.Equal("n", e.ParamName)
        Assert.StartsWith("n must be positive.", e.Message)
    Assert.Equal(0, k.IntAt(5L, 1))
    for f in [ (fun () -> k.Uniform(-1, 0f, 1f)); (fun () -> k.Normal(-1)) ] do
        let e = Assert.Throws<System.ArgumentOutOfRangeException>(fun () -> f () |> ignore)
        Assert.Equal("count", e.ParamName)
        Assert.StartsWith("count must be non-negative.", e.Message)
    Assert.Empty(k.Uniform(0, 0f, 1f))
    Assert.Empty(k.Normal 0)
