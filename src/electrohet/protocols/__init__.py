"""Cycling protocols: experiment strings, CC/CV/rest steps, cycles, rate tests."""

from electrohet.protocols.experiment import Experiment, cccv_charge, rate_test
from electrohet.protocols.steps import CurrentSpec, Step, parse_step

__all__ = ["CurrentSpec", "Experiment", "Step", "cccv_charge", "parse_step", "rate_test"]
