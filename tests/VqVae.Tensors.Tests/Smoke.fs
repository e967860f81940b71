module VqVae.Tensors.Tests.Smoke

open Xunit

[<Fact>]
let ``test project runs`` () = Assert.Equal(2, 1 + 1)
