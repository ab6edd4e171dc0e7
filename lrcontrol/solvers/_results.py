"""Result codes shared by every solver: 0 means converged; every other code says why a solve stopped short."""

SUCCESS, MAX_STEPS, LINE_SEARCH_FAILED, NONFINITE, STALLED = 0, 1, 2, 3, 4
BOUNDARY_RESIDUAL, SWEEP_MAX_STEPS, CONTROL_CAP, GRID_RESOLUTION, NOT_ESTIMATED = 5, 6, 7, 8, 9
STALL_ITERATIONS = 20

MESSAGES = {
    SUCCESS: "converged: the solver's residual is below its tolerance",
    MAX_STEPS: "not converged: reached max_steps",
    LINE_SEARCH_FAILED: "not converged: line search found no decrease (objective flat to round-off, or a "
                        "gradient inconsistent with the objective)",
    NONFINITE: "not converged: a state, costate, objective or gradient became non-finite",
    STALLED: f"not converged: objective stalled at round-off (no decrease beyond 8 ulp in {STALL_ITERATIONS} "
             "iterations) before the projected gradient reached the tolerance",
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
}
