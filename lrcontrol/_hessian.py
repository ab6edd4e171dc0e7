"""An exact Hessian with O(n) structure: a diagonal plus a matrix whose (j, l) entry depends on min(j, l) only,
optionally plus one whose entry depends on max(j, l) only.

Such Hessians arise where step k's term of a loss depends on the steps after it only through their sum (the
remaining intrinsic time of the FSL, arXiv 2509.19189), and — the max part — on the steps before it only through
theirs (the multiplicative FSL's forcing): a system hands one to the solver in place of its Hessian diagonal
(`final_loss_grad_curvature`), and `Direct` then takes projected Newton steps, solved in O(n).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

METHODS = ("auto", "sequential", "parallel")


class MinKernelHessian(eqx.Module):
    """The symmetric n × n matrix H_jl = D_j·[j = l] + F_min(j,l) (+ G_max(j,l) where a max part is given).

    Writing z = Ux for the suffix sums z_a = Σ_{b≥a} x_b, xᵀHx = Σ D_a x_a² + Σ ΔF_a z_a² with ΔF_a = F_a − F_{a−1}
    (F_0 = 0), so in z the system Hx = q is tridiagonal — (U⁻ᵀ D U⁻¹ + diag ΔF) z = U⁻ᵀ q — and is solved in O(n).
    The principal submatrix on any subset of the indices has the same form (D and F restricted to it), so a
    solve restricted to the free controls of a box-constrained problem costs the same (`solve`).

    A max part adds nothing new to solve: since {max(j,l), min(j,l)} = {j, l}, G_max(j,l) = G_j + G_l − G_min(j,l),
    so H = M + G1ᵀ + 1Gᵀ with M = D + (F − G)_min — a rank-two update of the min-kernel form, solved by the
    Woodbury identity with three solves of M.

    A positive `scale` s makes it S(D + F_min + G_max)S, S = diag(s): the same matrix in rescaled variables, which
    is what summing over control blocks and the solver's block weights make of it (`block_sum`, `scaled`).

    **Fields:** `diagonal_part` D and `min_part` F, arrays of shape (n,); `max_part` G and `scale` s, shape (n,) or
    None.
    """

    diagonal_part: Float[Array, " n"]
    min_part: Float[Array, " n"]
    max_part: Float[Array, " n"] | None = None
    scale: Float[Array, " n"] | None = None

    def diagonal(self) -> Float[Array, " n"]:
        """H_jj = s_j²(D_j + F_j (+ G_j))."""
        diag = self.diagonal_part + self.min_part
        diag = diag if self.max_part is None else diag + self.max_part
        return diag if self.scale is None else self.scale**2 * diag

    def matvec(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """Hx in O(n): (Hx)_j = D_j x_j + Σ_{l<j} F_l x_l + F_j Σ_{l≥j} x_l (+ G_j Σ_{l≤j} x_l + Σ_{l>j} G_l x_l),
        x and the result multiplied by s where there is a scale."""
        x = x if self.scale is None else self.scale * x
        f = self.min_part
        out = (self.diagonal_part * x + jax.lax.cumsum(f * x) - f * x
               + f * jax.lax.cumsum(x, reverse=True))
        if self.max_part is not None:
            g = self.max_part
            out = out + g * jax.lax.cumsum(x) + jax.lax.cumsum(g * x, reverse=True) - g * x
        return out if self.scale is None else self.scale * out

    def scaled(self, s: Float[Array, " n"]) -> "MinKernelHessian":
        """S H S for S = diag(s), s > 0 (e.g. s = w^(−1/2): the Hessian in variables scaled by √w)."""
        return MinKernelHessian(self.diagonal_part, self.min_part, self.max_part,
                                s if self.scale is None else s * self.scale)

    def block_sum(self, block_of_step: np.ndarray, blocks: int) -> "MinKernelHessian":
        """PᵀHP for P mapping `blocks` contiguous control blocks to the steps that hold them (`block_of_step`, static
        and non-decreasing): the exact Hessian in the block controls, of the same form [D]. With L_I steps in block I,
        for I < J the entry is Σ_{j∈I, l∈J} (F_min(j,l) + G_max(j,l)) = L_J ΣF_I + L_I ΣG_J = L_I L_J (φ_I + γ_J),
        φ = ΣF/L, γ = ΣG/L: so PᵀHP = Λ(D′ + φ_min + γ_max)Λ with Λ = diag(L) and D′ from the block's own entry,
        Σ_{j,l∈I} H_jl = ΣD_I + Σ_{j∈I} F_j(2r_j − 1) + G_j(2p_j − 1) (r_j, p_j: the steps of I at or after, at or
        before j). Unscaled H only."""
        if self.scale is not None:
            raise ValueError("block_sum takes an unscaled Hessian (scale None).")
        idx = jnp.asarray(block_of_step)
        lengths_np = np.bincount(block_of_step, minlength=blocks)
        start = np.concatenate([[0], np.cumsum(lengths_np)[:-1]])
        at = np.arange(len(block_of_step)) - start[block_of_step]  # position within the block, from 0
        lengths = jnp.asarray(lengths_np, self.min_part.dtype)
        after = jnp.asarray(lengths_np[block_of_step] - at, self.min_part.dtype)  # r_j
        total = lambda a: jax.ops.segment_sum(a, idx, blocks)  # noqa: E731
        own = total(self.diagonal_part) + total(self.min_part * (2 * after - 1))
        phi = total(self.min_part) / lengths
        gamma = None
        if self.max_part is not None:
            own = own + total(self.max_part * (2 * jnp.asarray(at + 1, self.max_part.dtype) - 1))
            gamma = total(self.max_part) / lengths
        d = own / lengths**2 - phi - (0.0 if gamma is None else gamma)
        return MinKernelHessian(d, phi, gamma, lengths)

    def solve(self, q: Float[Array, " n"], free: Bool[Array, " n"], method: str = "auto"
              ) -> tuple[Float[Array, " n"], Bool[Array, ""]]:
        """(x, positive definite): x solves H_FF x_F = q_F on the indices where `free` is True, x = 0 elsewhere;
        the flag says whether H_FF is positive definite (where it is not, x is meaningless).

        With a max part: x = a − αb − βc from the solves a, b, c of M_FF (right-hand sides q, G, 1) and the 2 × 2
        system K(α, β) = (Gᵀa, 1ᵀa), K = [[Gᵀb, 1 + Gᵀc], [1 + 1ᵀb, 1ᵀc]] (sums over the free indices). Positive
        definiteness by Haynsworth's inertia additivity: H_FF's negative eigenvalues number those of M_FF (its
        negative pivots) plus K's positive eigenvalues minus one, so H_FF is positive definite iff that sum is 0.
        M_FF may be indefinite where H_FF is not; its pivots are then not guarded by positivity. With a scale,
        S H₀ S x = q is solved as H₀(Sx) = S⁻¹q on the same free set (S is positive: the same definiteness).

        LDLᵀ of the tridiagonal system in z over the free indices in order (the fixed indices passed over). Its
        pivots are c_a = D_a + e_a with the excess e_1 = ΔF_1, e_a = ΔF_a + D_{a−1}e_{a−1}/(D_{a−1} + e_{a−1}),
        written so that no pivot is a difference of large numbers; H_FF is positive definite iff every pivot is
        positive. Forward, y_a = Δq_a + (D_{a−1}/c_{a−1}) y_{a−1}; back substitution z_a = (D_a z_{a+1} + y_a)/c_a
        gives x_a = (y_a − e_a z_{a+1})/c_a directly, not as a difference of suffix sums.

        `method`: "sequential" runs the three recurrences as two `lax.scan`s (the faster on CPU); "parallel" as
        `lax.associative_scan`s — e_a as a product of 2 × 2 Möbius matrices (normalised at every combination), y
        and z as affine maps — in O(log n) depth but a few times the work, for accelerators, where a sequential
        scan costs one kernel launch per step (the two agree to round-off, tests/test_hessian.py); "auto"
        (default) the first on a CPU backend, else the second.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
        if self.scale is not None:  # S H₀ S x = q ⇔ H₀ (Sx) = S⁻¹q, on the same free set
            y, positive = MinKernelHessian(self.diagonal_part, self.min_part, self.max_part).solve(
                q / self.scale, free, method)
            return jnp.where(free, y / self.scale, 0.0), positive
        parallel = method == "parallel" or (method == "auto" and jax.default_backend() != "cpu")
        if self.max_part is None:
            x, negative, regular = self._min_solve(self.min_part, q, free, parallel)
            return x, regular & (negative == 0)
        g = jnp.where(free, self.max_part, 0.0)
        rhs = jnp.stack([q, g, jnp.where(free, 1.0, 0.0)])
        m = self.min_part - self.max_part  # M = D + (F − G)_min
        (a, b, c), negative, regular = jax.vmap(lambda r: self._min_solve(m, r, free, parallel))(rhs)
        k11, k12, k21, k22 = g @ b, 1.0 + g @ c, 1.0 + jnp.sum(b), jnp.sum(c)
        r1, r2 = g @ a, jnp.sum(a)
        det = k11 * k22 - k12 * k21
        safe = jnp.where(det != 0, det, 1.0)
        alpha, beta = (k22 * r1 - k12 * r2) / safe, (k11 * r2 - k21 * r1) / safe
        k_positive = jnp.where(det < 0, 1, jnp.where(k11 + k22 > 0, 2, 0))  # K's eigenvalues above zero
        positive = regular[0] & (negative[0] + k_positive == 1) & (det != 0) & jnp.isfinite(det)
        return jnp.where(free, a - alpha * b - beta * c, 0.0), positive

    def _min_solve(self, f, q, free, parallel):
        # (x, number of negative pivots, all pivots finite and nonzero) for D + f_min on the free indices
        if parallel:
            return _solve_parallel(self.diagonal_part, f, q, free)
        d = self.diagonal_part
        zero = jnp.zeros((), q.dtype)

        def forward(carry, inputs):
            d_prev, e_prev, y_prev, q_prev, f_prev = carry
            d_j, f_j, q_j, free_j = inputs
            c_prev = d_prev + e_prev
            # the first free index has no predecessor: d_prev = 0 there, so the coupling term vanishes
            ratio = jnp.where(d_prev != 0, d_prev / jnp.where(c_prev != 0, c_prev, 1.0), 0.0)
            e = (f_j - f_prev) + ratio * e_prev
            y = (q_j - q_prev) + ratio * y_prev
            carry = jax.tree.map(lambda a, b: jnp.where(free_j, a, b), (d_j, e, y, q_j, f_j), carry)
            return carry, (jnp.where(free_j, e, 0.0), jnp.where(free_j, y, 0.0), jnp.where(free_j, d_j + e, 1.0))

        _, (e, y, c) = jax.lax.scan(forward, (zero,) * 5, (d, f, q, free))
        negative, regular = jnp.sum(c < 0), jnp.all(jnp.isfinite(c) & (c != 0))  # fixed indices' placeholders: 1

        def backward(z_next, inputs):
            e_j, y_j, c_j, free_j = inputs
            x = jnp.where(free_j, (y_j - e_j * z_next) / c_j, 0.0)
            return z_next + x, x

        _, x = jax.lax.scan(backward, zero, (e, y, c, free), reverse=True)
        return x, negative, regular


def _solve_parallel(d, f, q, free):
    one, zero = jnp.ones_like(q), jnp.zeros_like(q)
    d_prev, f_prev, q_prev = _at_previous_free(free, d, f, q)
    delta = f - f_prev
    # e_a = M_a(e_{a−1}) with the Möbius map e ↦ ((Δ + D′)e + ΔD′)/(e + D′), D′ = D_{a−1} (0 before the first
    # free index, where the map is the constant ΔF_1); the identity at fixed indices; e_0 = 1 (any nonzero)
    m = (jnp.where(free, delta + d_prev, one), jnp.where(free, delta * d_prev, zero), jnp.where(free, one, zero),
         jnp.where(free, d_prev, one))
    pa, pb, pc, pd = jax.lax.associative_scan(_compose_mobius, m)
    e = (pa + pb) / (pc + pd)
    c = d + e
    negative, regular = jnp.sum(free & (c < 0)), jnp.all(~free | (jnp.isfinite(c) & (c != 0)))
    c_prev = d_prev + jnp.concatenate([zero[:1], e[:-1]])  # at a free index, the previous free one's pivot
    ratio = jnp.where(d_prev != 0, d_prev / jnp.where(c_prev != 0, c_prev, 1.0), 0.0)
    _, y = jax.lax.associative_scan(_compose_affine, (jnp.where(free, ratio, one), jnp.where(free, q - q_prev,
                                                                                             zero)))
    c = jnp.where(free, c, 1.0)
    _, z = jax.lax.associative_scan(_compose_affine, (jnp.where(free, d / c, one), jnp.where(free, y / c, zero)),
                                    reverse=True)
    z_next = jnp.concatenate([z[1:], zero[:1]])
    return jnp.where(free, (y - e * z_next) / c, 0.0), negative, regular


def _at_previous_free(free, *values):
    # each value at the last free index before j (0 where there is none): a "last valid" scan, shifted by one
    def last(a, b):
        return (a[0] | b[0],) + tuple(jnp.where(b[0], vb, va) for va, vb in zip(a[1:], b[1:]))

    scanned = jax.lax.associative_scan(last, (free,) + tuple(jnp.where(free, v, 0.0) for v in values))
    return tuple(jnp.concatenate([jnp.zeros(1, v.dtype), v[:-1]]) for v in scanned[1:])


def _compose_mobius(first, then):
    # the 2 × 2 matrix of `then` ∘ `first`, scaled to a largest entry of 1 (a Möbius map is unchanged by scaling,
    # and long products would overflow)
    a1, b1, c1, d1 = first
    a2, b2, c2, d2 = then
    a, b, c, d = a2 * a1 + b2 * c1, a2 * b1 + b2 * d1, c2 * a1 + d2 * c1, c2 * b1 + d2 * d1
    scale = jnp.maximum(jnp.maximum(jnp.abs(a), jnp.abs(b)), jnp.maximum(jnp.abs(c), jnp.abs(d)))
    scale = jnp.where(scale > 0, scale, 1.0)
    return a / scale, b / scale, c / scale, d / scale


def _compose_affine(first, then):
    # v ↦ r·v + h: `then` ∘ `first`
    return first[0] * then[0], then[0] * first[1] + then[1]
