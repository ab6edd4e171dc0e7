"""Result codes shared by every solver: 0 means converged; every other code says why a solve stopped short.

`Result` is an `IntEnum` whose members carry their message (`Result.STALLED.message`); a solver's `Info.result`
is the plain integer (traceable), and `Diagnostics.message` turns it back into words, filled in with the
numbers the solver measured (`Info.extras`: the round-off floor, the iteration where a value became non-finite,
the control that ran away, Newton's own verdict) and the precision the solve ran in.
"""

import enum

STALL_ITERATIONS = 20


class Result(enum.IntEnum):
    """Why a solve stopped. 0 (`SUCCESS`) is the only converged code, so `result == 0` is a traced verdict."""

    SUCCESS = 0
    MAX_STEPS = 1
    LINE_SEARCH_FAILED = 2
    NONFINITE = 3
    STALLED = 4
    BOUNDARY_RESIDUAL = 5
    SWEEP_MAX_STEPS = 6
    CONTROL_CAP = 7
    GRID_RESOLUTION = 8
    NOT_ESTIMATED = 9
    UNBOUNDED = 10
    NOT_VERIFIED = 11

    @property
    def message(self) -> str:
        return MESSAGES[self]


SUCCESS, MAX_STEPS, LINE_SEARCH_FAILED, NONFINITE, STALLED = 0, 1, 2, 3, 4
BOUNDARY_RESIDUAL, SWEEP_MAX_STEPS, CONTROL_CAP, GRID_RESOLUTION, NOT_ESTIMATED = 5, 6, 7, 8, 9
UNBOUNDED, NOT_VERIFIED = 10, 11

MESSAGES = {
    SUCCESS: "converged: the solver's residual is below its tolerance",
    MAX_STEPS: "not converged: reached max_steps",
    LINE_SEARCH_FAILED: "not converged: line search found no decrease with the projected gradient above its "
                        "round-off floor (a gradient inconsistent with the objective, or ill-conditioning)",
    NONFINITE: "not converged: a state, costate, objective or gradient became non-finite",
    STALLED: f"not converged: objective stalled at round-off (no decrease beyond 8 ulp in {STALL_ITERATIONS} "
             "iterations) with the projected gradient above both the tolerance and its round-off floor",
    BOUNDARY_RESIDUAL: "not converged: Newton failed (diverged or a singular Jacobian) with the shooting residual "
                       "(costate boundary condition and segment continuity) above tolerance; try more segments "
                       "or method='sweep'",
    SWEEP_MAX_STEPS: "not converged: the forward–backward sweep reached max_steps while the control was still "
                     "changing",
    CONTROL_CAP: "not converged: the optimal control reached the top of HJB's control range (the lr has no "
                 "upper bound); raise control_max",
    GRID_RESOLUTION: "not converged: HJB's schedule changed by more than rtol between the coarse and the fine state "
                     "grid; use more points",
    NOT_ESTIMATED: "not verified: HJB ran with estimate_error=False, so its grid error is unknown",
    UNBOUNDED: "not converged: unbounded: the objective keeps decreasing as a control grows without limit; set an "
               "upper bound on it",
    NOT_VERIFIED: "not converged: the starting point was already stationary to round-off, and a trial step "
                  "scaled to the controls decreased the objective beyond its noise (a saddle or maximum, not a "
                  "minimum)",
}

# Which quantity became non-finite (`Info.extras["nonfinite"]`), for the message.
NONFINITE_WHAT = {1: "objective", 2: "gradient", 3: "control", 4: "state", 5: "costate"}
