"""Counters of what a simulator's time integration did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SolverStats:
    """What the integrator did, summed over a simulator's runs.

    Attributes
    ----------
    steps, rejected
        Accepted and rejected time steps.
    newton_iterations, newton_failures
        Corrector iterations and non-converged corrector solves.
    jacobians, factorizations
        Jacobian evaluations and LU factorisations.
    residual_evals
        Residual evaluations outside the Jacobian (P2D-E).
    linear_iterations
        Krylov iterations (voxel model).
    history
        Free-form per-step records a simulator may keep.
    """

    steps: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    newton_failures: int = 0
    jacobians: int = 0
    factorizations: int = 0
    residual_evals: int = 0
    linear_iterations: int = 0
    history: list = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The counters under the names the result Datasets use (``solver_<name>``)."""
        return {
            "steps": self.steps,
            "rejected_steps": self.rejected,
            "newton_iterations": self.newton_iterations,
            "newton_failures": self.newton_failures,
            "jacobian_evaluations": self.jacobians,
            "lu_factorizations": self.factorizations,
            "residual_evaluations": self.residual_evals,
            "linear_iterations": self.linear_iterations,
        }
