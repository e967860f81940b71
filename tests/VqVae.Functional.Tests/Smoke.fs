module VqVae.Functional.Tests.Smoke

open Xunit

[<Fact>]
let ``test project runs`` () = Assert.Equal(2, 1 + 1)
