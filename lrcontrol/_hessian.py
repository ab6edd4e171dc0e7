"""An exact Hessian with O(n) structure: a diagonal plus a matrix whose (j, l) entry depends on min(j, l) only.

Such Hessians arise where step k's term of a loss depends on the steps after it only through their sum (the
remaining intrinsic time of the FSL, arXiv 2509.19189): a system hands one to the solver in place of its Hessian
diagonal (`final_loss_grad_curvature`), and `Direct` then takes projected Newton steps, solved in O(n).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float


class MinKernelHessian(eqx.Module):
    """The symmetric n × n matrix H_jl = D_j·[j = l] + F_min(j,l).

    Writing z = Ux for the suffix sums z_a = Σ_{b≥a} x_b, xᵀHx = Σ D_a x_a² + Σ ΔF_a z_a² with ΔF_a = F_a − F_{a−1}
    (F_0 = 0), so in z the system Hx = q is tridiagonal — (U⁻ᵀ D U⁻¹ + diag ΔF) z = U⁻ᵀ q — and is solved in O(n).
    The principal submatrix on any subset of the indices has the same form (D and F restricted to it), so a
    solve restricted to the free controls of a box-constrained problem costs the same (`solve`).

    **Fields:** `diagonal_part` D and `min_part` F, arrays of shape (n,).
    """

    diagonal_part: Float[Array, " n"]
    min_part: Float[Array, " n"]

    def diagonal(self) -> Float[Array, " n"]:
        """H_jj = D_j + F_j."""
        return self.diagonal_part + self.min_part

    def matvec(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """Hx in O(n): (Hx)_j = D_j x_j + Σ_{l<j} F_l x_l + F_j Σ_{l≥j} x_l."""
        f = self.min_part
        return (self.diagonal_part * x + jax.lax.cumsum(f * x) - f * x
                + f * jax.lax.cumsum(x, reverse=True))

    def solve(self, q: Float[Array, " n"], free: Bool[Array, " n"]) -> tuple[Float[Array, " n"], Bool[Array, ""]]:
        """(x, positive definite): x solves H_FF x_F = q_F on the indices where `free` is True, x = 0 elsewhere;
        the flag says whether H_FF is positive definite (where it is not, x is meaningless).

        LDLᵀ of the tridiagonal system in z over the free indices in order (two sequential scans, the fixed
        indices passed over). Its pivots are c_a = D_a + e_a with the excess e_1 = ΔF_1,
        e_a = ΔF_a + D_{a−1}e_{a−1}/(D_{a−1} + e_{a−1}), written so that no pivot is a difference of large
        numbers; H_FF is positive definite iff every pivot is positive. Back substitution gives
        x_a = (y_a − e_a z_{a+1})/c_a directly, not as a difference of suffix sums.
        """
        d, f = self.diagonal_part, self.min_part
        zero = jnp.zeros((), q.dtype)

        def forward(carry, inputs):
            d_prev, e_prev, y_prev, q_prev, f_prev, ok = carry
            d_j, f_j, q_j, free_j = inputs
            c_prev = d_prev + e_prev
            # the first free index has no predecessor: d_prev = 0 there, so the coupling term vanishes
            ratio = jnp.where(d_prev != 0, d_prev / jnp.where(c_prev != 0, c_prev, 1.0), 0.0)
            e = (f_j - f_prev) + ratio * e_prev
            y = (q_j - q_prev) + ratio * y_prev
            c = d_j + e
            new = (d_j, e, y, q_j, f_j, ok & (c > 0))
            carry = jax.tree.map(lambda a, b: jnp.where(free_j, a, b), new, carry)
            return carry, (jnp.where(free_j, e, 0.0), jnp.where(free_j, y, 0.0), jnp.where(free_j, c, 1.0))

        start = (zero, zero, zero, zero, zero, jnp.array(True))
        (*_, ok), (e, y, c) = jax.lax.scan(forward, start, (d, f, q, free))

        def backward(z_next, inputs):
            e_j, y_j, c_j, free_j = inputs
            x = jnp.where(free_j, (y_j - e_j * z_next) / c_j, 0.0)
            return z_next + x, x

        _, x = jax.lax.scan(backward, zero, (e, y, c, free), reverse=True)
        return x, ok
