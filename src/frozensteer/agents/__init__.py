"""Agents: the Gaussian policy network, frozen loading and checkpoints.

``load_actor(path)`` and ``load_prior(path)`` return frozen ``GaussianPolicy`` modules whose
call on a batch of observations (and goals) returns a ``frozensteer.compose.DiagGaussian``.
"""

from __future__ import annotations

from pathlib import Path

from frozensteer.agents.checkpoint import load_policy
from frozensteer.agents.networks import FrozenError, FrozenPolicy, GaussianPolicy, freeze

__all__ = ["FrozenError", "FrozenPolicy", "GaussianPolicy", "freeze", "load_actor", "load_prior"]


def load_actor(path: Path, env: str | None = None) -> GaussianPolicy:
    """The frozen actor saved at ``path`` (``env`` checks which environment it is for)."""
    return load_policy(path, env=env, kind="actor")


def load_prior(path: Path, env: str | None = None) -> GaussianPolicy:
    """The frozen goal-conditioned prior saved at ``path``."""
    return load_policy(path, env=env, kind="prior")
