"""A Hessian known through its products with vectors, plus a diagonal estimate that preconditions them.

Where a system's Hessian has no O(n) structure to hand over (`MinKernelHessian`) and its diagonal alone steers
L-BFGS badly, it can still be applied to a vector at the cost of about one gradient: a forward-mode derivative of the
gradient. A system returns a `HessianProducts` in place of its Hessian diagonal (`final_loss_grad_curvature`);
`Direct` then takes projected Newton–CG steps: the Newton system restricted to the free controls solved by
preconditioned conjugate gradients on those products (`_lbfgsb`). The products are formed by the solver from its
own gradient, so this object carries only the preconditioner and works unchanged in control blocks and scaled
variables.
"""

import equinox as eqx
from jaxtyping import Array, Float


class HessianProducts(eqx.Module):
    """The Hessian as products (taken by the solver), with `diagonal_estimate`: an estimate of its diagonal, shape
    (n,), any sign (the solver uses its magnitude as the conjugate-gradient preconditioner)."""

    diagonal_estimate: Float[Array, " n"]

    def diagonal(self) -> Float[Array, " n"]:
        return self.diagonal_estimate

    def scaled(self, s: Float[Array, " n"]) -> "HessianProducts":
        """S H S for S = diag(s) (as `MinKernelHessian.scaled`): the diagonal estimate times s²."""
        return HessianProducts(self.diagonal_estimate * s**2)

    def reshaped(self, *shape) -> "HessianProducts":
        return HessianProducts(self.diagonal_estimate.reshape(*shape))
