"""Agents: the Gaussian policy network, frozen loading and checkpoints.

``load_actor(name_or_path)`` and ``load_prior(name_or_path)`` return frozen
``GaussianPolicy`` modules whose call on a batch of observations (and goals) returns a
``frozensteer.compose.DiagGaussian``; a name such as ``"hopper-medium"`` or
``"hopper-medium-clean"`` is a committed policy of ``profile``.
"""

from __future__ import annotations

from pathlib import Path

from frozensteer.agents.checkpoint import load_policy
from frozensteer.agents.networks import FrozenError, FrozenPolicy, GaussianPolicy, freeze

__all__ = ["FrozenError", "FrozenPolicy", "GaussianPolicy", "freeze", "load_actor", "load_prior"]


def load_actor(name_or_path: str | Path, env: str | None = None,
               profile: str = "paper") -> GaussianPolicy:
    """The frozen actor at a path, or called ``name_or_path`` at ``profile`` (``env``
    checks which environment it is for)."""
    return load_policy(policy_file("actor", name_or_path, profile), env=env, kind="actor")


def load_prior(name_or_path: str | Path, env: str | None = None,
               profile: str = "paper") -> GaussianPolicy:
    """The frozen goal-conditioned prior at a path, or called ``name_or_path`` at
    ``profile``."""
    return load_policy(policy_file("prior", name_or_path, profile), env=env, kind="prior")


def policy_file(kind: str, name_or_path: str | Path, profile: str = "paper") -> Path:
    """A path as given if it names a file, else the committed ``kind`` of that name at
    ``profile`` (``artifacts/policies/<profile>/<kind>/<name>.pt``)."""
    from frozensteer import paths
    from frozensteer.profiles import get_profile

    path = Path(name_or_path)
    if path.exists() or path.suffix == ".pt" or len(path.parts) > 1:
        return path
    folder = paths.artifacts() / "policies" / get_profile(profile).name / kind
    candidate = folder / f"{name_or_path}.pt"
    if not candidate.exists():
        known = sorted(p.stem for p in folder.glob("*.pt"))
        raise FileNotFoundError(f"no {kind} called {str(name_or_path)!r} at profile "
                                f"{get_profile(profile).name}: the known ones are {known}")
    return candidate
