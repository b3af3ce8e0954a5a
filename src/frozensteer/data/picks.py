"""Reference returns and the medium / expert picks of a behaviour run (the data chapter, "Behaviour policies").

- random reference: mean return of uniform random actions over ``reference_episodes``
  episodes (seeds ``reference_seed + i``);
- expert: among the checkpoints with the best learning-curve returns, the one with the best
  mean return when re-evaluated over ``pick_eval_episodes`` episodes (a 10-episode spike does
  not survive); its mean return over the reference episodes is the expert reference;
- medium: the first checkpoint whose normalised learning-curve score reaches
  ``medium_threshold`` *and* whose re-evaluated score does too.  A run too short for any
  checkpoint to get there (the smoke profile) falls back to the best re-evaluated of the
  other top checkpoints, and ``medium_rule`` in the picks says so.

The picks, every re-evaluation and the references are written to ``picks.json`` beside the
checkpoints, keyed by a hash of the learning curve and the settings used, and reused while
both are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.sac.policies import SACPolicy

from frozensteer.data.behaviour import behaviour_dir, read_curve
from frozensteer.data.envs import behaviour_id, gym_id
from frozensteer.profiles import Profile, get_profile
from frozensteer.provenance import atomic_write
from frozensteer.rollout import run_episodes

PICK_SEED = 60_000  # re-evaluation episode k resets with seed PICK_SEED + k
EXPERT_CANDIDATES = 5  # best learning-curve checkpoints re-evaluated for the expert
MEDIUM_CANDIDATES = 10  # at most this many threshold-crossing checkpoints re-evaluated
RULE_VERSION = 2  # bump when the pick rule changes: cached picks are then recomputed


def load_behaviour(env: str, checkpoint: Path, noise: float | None = None):
    """A batched policy ``obs -> actions`` from a saved SAC actor (torch RNG): SAC's own
    sample, or with ``noise`` the deterministic action plus Gaussian noise of that standard
    deviation, clipped to the bounds (D4RL's AntMaze controller)."""
    e = gym.make(behaviour_id(env))
    policy = SACPolicy(e.observation_space, e.action_space, lr_schedule=lambda _: 0.0)
    policy.actor.load_state_dict(torch.load(checkpoint, weights_only=True))
    policy.set_training_mode(False)
    low, high = e.action_space.low, e.action_space.high

    @torch.no_grad()
    def act(obs: np.ndarray) -> np.ndarray:
        # SB3's squashed Gaussian sample, tanh(mean + std * noise), without building a
        # distribution object per call (collection calls this once per step)
        mean, log_std, _ = policy.actor.get_action_dist_params(
            torch.as_tensor(obs, dtype=torch.float32))
        if noise is not None:
            action = policy.unscale_action(torch.tanh(mean).numpy())
            return np.clip(action + noise * torch.randn_like(mean).numpy(), low, high)
        squashed = torch.tanh(mean + log_std.exp() * torch.randn_like(mean))
        return policy.unscale_action(squashed.numpy())

    return act


def random_policy(env: str, seed: int):
    """A batched policy of uniform random actions within the action bounds."""
    space = gym.make(gym_id(env)).action_space
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(space.low, space.high, (len(obs), *space.shape)).astype(
        space.dtype)


def mean_return(env: str, policy, seeds: list[int]) -> np.ndarray:
    """Per-episode returns of a batched policy, one episode per seed."""
    torch.manual_seed(seeds[0])
    return run_episodes(lambda: gym.make(gym_id(env)), seeds,
                        lambda obs, _index: policy(obs)).returns


def checkpoint_path(env: str, profile: Profile | str, step: int) -> Path:
    return behaviour_dir(env, profile) / "checkpoints" / f"step_{step:07d}.pt"


def pick_policies(env: str, profile: Profile | str) -> dict:
    """References and picks of ``env``'s behaviour run (cached in ``picks.json``)."""
    prof = get_profile(profile)
    out = behaviour_dir(env, prof)
    curve = read_curve(out)
    budget = prof.sac_steps[env]
    if not curve or curve[-1]["step"] < budget:
        done = curve[-1]["step"] if curve else 0
        raise RuntimeError(
            f"the {env} behaviour run at profile {prof.name} has {done} of {budget} steps: "
            f"run `frozensteer data train-behaviour --env {env} --profile {prof.name}` first")
    key = _key(out, prof)
    cached = out / "picks.json"
    if cached.exists() and json.loads(cached.read_text()).get("key") == key:
        return json.loads(cached.read_text())

    ref_seeds = [prof.reference_seed + i for i in range(prof.reference_episodes)]
    pick_seeds = [PICK_SEED + k for k in range(prof.pick_eval_episodes)]
    reeval = {}

    def reevaluate(step: int) -> float:
        if step not in reeval:
            policy = load_behaviour(env, checkpoint_path(env, prof, step))
            reeval[step] = float(mean_return(env, policy, pick_seeds).mean())
        return reeval[step]

    random_ref = float(mean_return(env, random_policy(env, prof.reference_seed),
                                   ref_seeds).mean())
    best = sorted(curve, key=lambda r: r["mean_return"], reverse=True)[:EXPERT_CANDIDATES]
    expert_step = max((r["step"] for r in best), key=reevaluate)
    expert_policy = load_behaviour(env, checkpoint_path(env, prof, expert_step))
    expert_ref = float(mean_return(env, expert_policy, ref_seeds).mean())

    def score(ret: float) -> float:
        return 100.0 * (ret - random_ref) / (expert_ref - random_ref)

    medium_step, medium_rule = None, "threshold"
    crossing = [r["step"] for r in curve if score(r["mean_return"]) >= prof.medium_threshold]
    for step in crossing[:MEDIUM_CANDIDATES]:
        if score(reevaluate(step)) >= prof.medium_threshold:
            medium_step = step
            break
    if medium_step is None:
        # No checkpoint reaches the threshold (a run far too short, as at the smoke profile):
        # take the best re-evaluated of the other best checkpoints, and say so in the picks.
        others = [r["step"] for r in best if r["step"] != expert_step] or [expert_step]
        medium_step = max(others[:3], key=reevaluate)
        medium_rule = f"fallback: no checkpoint reached {prof.medium_threshold:g}"

    picks = {
        "key": key, "env": env, "profile": prof.name,
        "ref_min_score": random_ref, "ref_max_score": expert_ref,
        "reference_episodes": prof.reference_episodes, "reference_seed": prof.reference_seed,
        "expert_step": expert_step, "medium_step": medium_step, "medium_rule": medium_rule,
        "medium_score": score(reeval[medium_step]), "expert_score": score(reeval[expert_step]),
        "pick_eval_episodes": prof.pick_eval_episodes, "pick_seed": PICK_SEED,
        "reevaluated": [{"step": s, "mean_return": r, "score": score(r)}
                        for s, r in sorted(reeval.items())],
    }
    atomic_write(cached, lambda tmp: tmp.write_text(json.dumps(picks, indent=1)))
    return picks


def _key(out: Path, prof: Profile) -> str:
    settings = [RULE_VERSION, prof.reference_episodes, prof.reference_seed,
                prof.pick_eval_episodes, prof.medium_threshold, PICK_SEED, EXPERT_CANDIDATES,
                MEDIUM_CANDIDATES]
    digest = hashlib.sha256((out / "curve.csv").read_bytes())
    digest.update(json.dumps(settings).encode())
    return digest.hexdigest()[:16]


def sb3_archive(env: str, profile: Profile | str, level: str = "medium") -> Path:
    """An SB3 archive of the behaviour policy picked as ``level`` ("medium" or "expert"),
    which ``stable_baselines3.SAC.load`` reads: ``behaviour/<profile>/<env>/sb3/<level>.zip``,
    written on first use.  The behaviour run kept only the actor's weights
    (``checkpoints/step_*.pt`` are actor state dicts, which ``SAC.load`` cannot read), so the
    archive holds that actor in a SAC model whose critics are freshly initialised: ``predict``
    and ``frozensteer.from_sb3`` use the actor alone."""
    from stable_baselines3 import SAC

    if level not in ("medium", "expert"):
        raise ValueError(f"level must be 'medium' or 'expert', got {level!r}")
    prof = get_profile(profile)
    path = behaviour_dir(env, prof) / "sb3" / f"{level}.zip"
    if path.exists():
        return path
    step = pick_policies(env, prof)[f"{level}_step"]
    model = SAC("MlpPolicy", gym.make(behaviour_id(env)), buffer_size=1, device="cpu", seed=0)
    model.actor.load_state_dict(torch.load(checkpoint_path(env, prof, step), weights_only=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: model.save(tmp))
