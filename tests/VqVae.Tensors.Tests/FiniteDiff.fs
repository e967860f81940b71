/// The central finite-difference checker. For f : Tensor[] -> Tensor (any output shape) it checks
/// the AD gradient of L(xs) = Σ f(xs)·r, for a fixed random r, against central differences
/// (L(x + h·e_j) − L(x − h·e_j)) / (x_j⁺ − x_j⁻), where L is summed in double from the float32
/// outputs and the step is the one float32 actually took. Weighting by r keeps cancellation low
/// and makes every output element matter (a plain sum would hide permuted or transposed adjoints).
module VqVae.Tensors.Tests.FiniteDiff

open System
open VqVae.Tensors

/// h: the step; an element passes when |ad − fd| ≤ Atol + Rtol·max(|ad|, |fd|, scale), where scale is
/// the largest |ad| of that input (finite-difference noise grows with the function, not the element).
type Tolerance = { H: float32; Atol: float; Rtol: float }

/// For smooth float32 functions of O(1) inputs (|x| ≥ 0.5 where curvature grows like 1/x). Central
/// differences with h = 1e-2 have a truncation error of about h²·f‴/6 (≤ 4e-4 relative for 3/x at
/// x = 0.5) and a rounding error of about 1e-7·|L|/h. rtol 1e-3 passed 10× the default test counts,
/// 1e-4 did not (truncation), so 3e-3 leaves a margin against flaky failures.
let defaultTol = { H = 1e-2f; Atol = 3e-4; Rtol = 3e-3 }

let private weightsFor (shape: int[]) =
    // in ±[0.5, 1.5]: no weight is near 0, so no output element escapes the check
    let u = Tensor.Uniform(Rng.Seed(20240611L), -1f, 1f, shape).ToArray()
    Tensor.FromArray(u |> Array.map (fun x -> (if x < 0f then -1f else 1f) * (0.5f + abs x)), shape)

let private dot (y: Tensor) (r: float[]) =
    let ya = y.ToArray()
    let mutable s = 0.0
    for k in 0 .. ya.Length - 1 do s <- s + float ya[k] * r[k]
    s

/// Checks the gradient of every input of f; throws with the worst element on a mismatch.
let checkWith (tol: Tolerance) (f: Tensor[] -> Tensor) (xs: Tensor[]) : unit =
    let y0 = f xs
    let r = weightsFor y0.Shape
    let rd = r.ToArray() |> Array.map float
    let struct (value, grads) = Grad.ValueAndGrad(Func<Tensor[], Tensor>(fun ts -> (f ts * r).Sum()), xs)
    let l0 = dot y0 rd
    if abs (float (value.ToScalar()) - l0) > 1e-4 * (1.0 + abs l0) then
        failwithf "AD value %g differs from the plain forward value %g" (value.ToScalar()) l0
    for i in 0 .. xs.Length - 1 do
        let g =
            match grads[i] with
            | null -> failwithf "input %d (shape %A) got no gradient" i xs[i].Shape
            | g -> g
        if g.Shape <> xs[i].Shape then failwithf "input %d: gradient shape %A, input shape %A" i g.Shape xs[i].Shape
        let ad = g.ToArray() |> Array.map float
        let x = xs[i].ToArray()
        let fd =
            Array.init x.Length (fun j ->
                let at (v: float32) =
                    let xj = Array.copy x
                    xj[j] <- v
                    let args = Array.copy xs
                    args[i] <- Tensor.FromArray(xj, xs[i].Shape)
                    dot (f args) rd
                let xp, xm = x[j] + tol.H, x[j] - tol.H
                (at xp - at xm) / (float xp - float xm))
        let scale = if ad.Length = 0 then 0.0 else ad |> Array.map abs |> Array.max
        let mutable worst, worstJ = 0.0, -1
        for j in 0 .. x.Length - 1 do
            let err = abs (ad[j] - fd[j])
            let allowed = tol.Atol + tol.Rtol * (max (abs ad[j]) (max (abs fd[j]) scale))
            if err - allowed > worst then worst <- err - allowed; worstJ <- j
        if worstJ >= 0 then
            let j = worstJ
            failwithf "input %d (shape %A), element %d: AD %.6g vs finite differences %.6g (|diff| %.3g, allowed %.3g)\nAD: %A\nFD: %A"
                i xs[i].Shape j ad[j] fd[j] (abs (ad[j] - fd[j])) (abs (ad[j] - fd[j]) - worst) ad fd

/// checkWith with the default tolerance.
let check (f: Tensor[] -> Tensor) (xs: Tensor[]) = checkWith defaultTol f xs

/// For a function of one tensor.
let check1 (f: Tensor -> Tensor) (x: Tensor) = check (fun ts -> f ts[0]) [| x |]
