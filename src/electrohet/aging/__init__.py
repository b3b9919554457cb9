"""Aging with heterogeneity: CEI growth, contact loss and isolation, cracking.

Degradation states live per particle slot (class x location) of the positive
electrode and are updated between cycles of :mod:`electrohet.model` runs; a
cycle-jumping driver resolves only the cycles it needs.  A voxel volume
(:mod:`electrohet.voxel`) is aged face by face with :func:`age_voxel`
(:mod:`electrohet.aging.voxel`).  Both run their cycles through the experiment engine
(:mod:`electrohet.engine`).  See docs/aging.md.
"""

from electrohet.aging.dataset import build_aging_dataset, cycle_frame, particle_state
from electrohet.aging.driver import AgingRun, JumpOptions, run_aging
from electrohet.aging.mechanisms import CEIGrowth, ContactLoss, Cracking, Mechanisms
from electrohet.aging.protocol import AgingProtocol
from electrohet.aging.voxel import age_voxel

__all__ = [
    "AgingProtocol",
    "AgingRun",
    "CEIGrowth",
    "ContactLoss",
    "Cracking",
    "JumpOptions",
    "Mechanisms",
    "age_voxel",
    "build_aging_dataset",
    "cycle_frame",
    "particle_state",
    "run_aging",
]
