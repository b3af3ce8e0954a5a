"""Training frozen actors and priors on a dataset, cached under their provenance key.

``train_actor`` and ``train_prior`` return the path of a checkpoint under
``artifacts/policies/<profile>/``; a checkpoint whose key (kind, environment, dataset content
hash, training config, code version) matches is reused, anything else retrains.
``evaluate_actor`` scores a frozen actor in its environment (deterministic mean actions,
clipped to the action bounds).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from frozensteer import paths
from frozensteer.agents.bc import BCConfig
from frozensteer.agents.checkpoint import cache_key, load_policy, read_checkpoint, save_policy
from frozensteer.agents.iql import IQLConfig, train_iql
from frozensteer.agents.prior import QUALITIES
from frozensteer.agents.prior import train_prior as fit_prior
from frozensteer.data import datasets
from frozensteer.data.envs import gym_id
from frozensteer.data.transitions import from_minari
from frozensteer.profiles import Profile, get_profile
from frozensteer.rollout import run_episodes


def policy_path(kind: str, env: str, level: str, profile: Profile | str,
                quality: str | None = None) -> Path:
    name = f"{env}-{level}" + (f"-{quality}" if quality else "")
    return paths.artifacts() / "policies" / get_profile(profile).name / kind / f"{name}.pt"


def dataset_hash(dataset) -> str:
    """sha256 of a Minari dataset's data files (not its metadata): new data, new hash."""
    digest = hashlib.sha256()
    for f in sorted(Path(dataset.storage.data_path).rglob("*")):
        if f.is_file() and f.name != "metadata.json":
            with f.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 24), b""):
                    digest.update(block)
    return digest.hexdigest()


def train_actor(env: str, level: str, profile: Profile | str, *,
                progress: bool = True) -> Path:
    """The IQL frozen actor of ``frozensteer/<env>/<level>-v0`` (trained unless cached)."""
    prof = get_profile(profile)
    dataset_id = datasets.local_id(env, level)
    dataset = datasets.load_dataset(dataset_id, prof)
    config = IQLConfig(steps=prof.iql_steps, batch_size=prof.batch_size)
    return _cached("actor", env, level, prof, None, dataset_id, dataset, config.as_dict(),
                   lambda data: train_iql(data, config, progress=progress and f"IQL {env}"))


def train_prior(env: str, level: str, quality: str, profile: Profile | str, *,
                seed: int = 0, progress: bool = True) -> Path:
    """A goal-conditioned prior of ``quality`` on ``frozensteer/<env>/<level>-v0``."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {list(QUALITIES)}, got {quality!r}")
    prof = get_profile(profile)
    dataset_id = datasets.local_id(env, level)
    dataset = datasets.load_dataset(dataset_id, prof)
    config = {"quality": quality, "seed": seed, **BCConfig(
        steps=prof.bc_steps, batch_size=prof.batch_size, seed=seed).as_dict(),
        "degraded_episode_fraction": prof.degraded_episode_fraction,
        "degraded_step_fraction": prof.degraded_step_fraction}
    return _cached("prior", env, level, prof, quality, dataset_id, dataset, config,
                   lambda data: fit_prior(data, quality, prof, seed=seed,
                                          progress=progress and f"prior {env} {quality}"))


def _cached(kind, env, level, prof, quality, dataset_id, dataset, config, fit) -> Path:
    path = policy_path(kind, env, level, prof, quality)
    data_hash = dataset_hash(dataset)
    key = cache_key(kind, env, data_hash, config)
    if path.exists():
        try:
            if read_checkpoint(path)["key"] == key:
                return path
        except ValueError:
            pass  # a broken file is replaced below
    torch.set_num_threads(1)
    policy, curve = fit(from_minari(dataset))
    return save_policy(path, policy, kind=kind, env=env, dataset_id=dataset_id,
                       dataset_hash=data_hash, config=config, curve=curve)


def evaluate_actor(path: Path, env: str, profile: Profile | str,
                   episodes: int | None = None) -> np.ndarray:
    """Normalised scores of the frozen actor at ``path`` over ``episodes`` seeded episodes."""
    prof = get_profile(profile)
    actor = load_policy(path, env=env, kind="actor")
    dataset = datasets.load_dataset(read_checkpoint(path)["dataset_id"], prof)
    space = gym.make(gym_id(env)).action_space
    seeds = [prof.base_seed + i for i in range(episodes or prof.episodes_per_condition)]

    @torch.no_grad()
    def act(obs, _index):
        mean = actor(torch.as_tensor(obs, dtype=torch.float32)).mean.numpy()
        return np.clip(mean, space.low, space.high)

    returns = run_episodes(lambda: gym.make(gym_id(env)), seeds, act).returns
    meta = dataset.storage.metadata
    return 100 * (returns - meta["ref_min_score"]) / (meta["ref_max_score"]
                                                     - meta["ref_min_score"])
