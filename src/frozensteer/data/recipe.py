"""The local D4RL recipe: from a behaviour run to the five datasets of an environment.

For one environment and profile, ``build`` (1) trains or resumes the SAC behaviour run,
(2) picks the medium and expert checkpoints and measures the reference returns
(``picks.py``), then writes, as Minari datasets ``frozensteer/<env>/<level>-v0``:

- random: uniform random actions;
- medium, expert: actions sampled from the picked SAC actors;
- medium-replay: every transition of the SAC replay buffer up to the medium checkpoint;
- medium-expert: the medium episodes followed by the expert episodes.

Random, medium and expert hold ``dataset_transitions`` transitions each.  A dataset already
built from the same inputs is reused; a changed pick, size or seed rebuilds it.

A policy cannot regenerate a replay buffer, so the medium-replay transitions are exported
once, compressed and in float32, to ``medium_replay.npz`` beside the checkpoints (committed,
with its sha256 in the manifest); later builds read that file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from stable_baselines3.common.save_util import load_from_pkl

from frozensteer import __version__, paths
from frozensteer.data import datasets
from frozensteer.data.behaviour import behaviour_dir, state_dir, train_behaviour
from frozensteer.data.collect import Episode, collect
from frozensteer.data.envs import gym_id
from frozensteer.data.picks import checkpoint_path, load_behaviour, pick_policies, random_policy
from frozensteer.profiles import PROTOCOL_SAC_STEPS, Profile, get_profile
from frozensteer.provenance import (atomic_write, content_key, git_commit, save_manifest, sha256,
                                   write_table)

COLLECT_SEEDS = {"random": 1_000_000, "medium": 2_000_000, "expert": 3_000_000}


def build(env: str, profile: Profile | str, *, progress: bool = True,
          rebuild: bool = False) -> list[dict]:
    """Build (or reuse) every dataset level of ``env``; return one summary row per dataset."""
    prof = get_profile(profile)
    gym_id(env)  # validates the name before hours of work
    train_behaviour(env, prof, progress=progress)
    picks = pick_policies(env, prof)
    if not picks["ref_max_score"] > picks["ref_min_score"]:
        raise ValueError(
            f"the datasets of {env} at profile {prof.name} cannot be built: their expert "
            f"reference return {picks['ref_max_score']:.1f} is not above the random one "
            f"{picks['ref_min_score']:.1f}, which would invert every normalised score; raise "
            f"the profile's behaviour budget (sac_steps[{env!r}] = {prof.sac_steps[env]:,})")
    if picks["medium_rule"] != "threshold":
        warnings.warn(f"{env} at profile {prof.name}: the medium pick fell back "
                      f"({picks['medium_rule']}); the manifest records it", stacklevel=2)
    meta = {"eval_env": gym_id(env), "ref_min_score": picks["ref_min_score"],
            "ref_max_score": picks["ref_max_score"]}
    changed = False
    for level in datasets.LEVELS:
        dataset_id = datasets.local_id(env, level)
        key = _input_key(env, level, prof, picks)
        if not rebuild and datasets.stored_key(dataset_id, prof) == key:
            continue
        changed = True
        if level == "medium-expert":
            parts = [datasets.local_id(env, "medium"), datasets.local_id(env, "expert")]
            dataset = datasets.combine(
                dataset_id, parts, prof, ref_min_score=meta["ref_min_score"],
                ref_max_score=meta["ref_max_score"],
                eval_env_spec=gym.spec(gym_id(env)).to_json())
        else:
            episodes = _episodes(env, level, prof, picks, progress)
            dataset = datasets.write_dataset(
                dataset_id, episodes, prof, **meta,
                algorithm_name=_algorithm(level, picks),
                description=f"{level} data for {gym_id(env)}, local D4RL recipe, profile "
                            f"{prof.name}")
        dataset.storage.update_metadata({"frozensteer_key": key, "profile": prof.name})
        datasets.record_digest(dataset)
    manifest = behaviour_dir(env, prof) / "manifest.json"
    if changed or not manifest.exists() or not episode_table_path(env, prof).exists():
        write_manifest(env, prof, picks)
        _write_episode_table(env, prof)
    return [datasets.summary(datasets.local_id(env, level), prof) for level in datasets.LEVELS]


def episode_table_path(env: str, profile: Profile | str) -> Path:
    return paths.results() / "datasets" / get_profile(profile).name / f"{env}.csv"


def episode_table(env: str, profile: Profile | str) -> pd.DataFrame | None:
    """One row per dataset episode of ``env`` (level, return, length, normalised score), as
    written by the last build (committed for the paper profile); None if never built."""
    path = episode_table_path(env, profile)
    return pd.read_csv(path) if path.exists() else None


def _write_episode_table(env: str, prof: Profile) -> None:
    rows = []
    for level in datasets.LEVELS:
        dataset = datasets.load_dataset(datasets.local_id(env, level), prof)
        returns = datasets.episode_returns(dataset)
        scores = datasets.normalised_score(dataset, returns)
        lengths = [len(ep.rewards) for ep in dataset.iterate_episodes()]
        rows += [{"env": env, "level": level, "episode": i, "return": r, "length": n,
                  "score": s} for i, (r, n, s) in enumerate(zip(returns, lengths, scores))]
    write_table(episode_table_path(env, prof), pd.DataFrame(rows), float_format="%.6g")


def _episodes(env: str, level: str, prof: Profile, picks: dict, progress) -> list[Episode]:
    if level == "medium-replay":
        return medium_replay(env, prof, picks["medium_step"])
    seed = COLLECT_SEEDS[level]
    if level == "random":
        policy = random_policy(env, seed)
    else:
        policy = load_behaviour(env, checkpoint_path(env, prof, picks[f"{level}_step"]))
    torch.manual_seed(seed)
    return collect(lambda: gym.make(gym_id(env)), policy, prof.dataset_transitions, seed=seed,
                   progress=f"{env} {level}" if progress else False)


def _algorithm(level: str, picks: dict) -> str:
    if level == "random":
        return "uniform random actions"
    if level == "medium-replay":
        return f"SB3 SAC replay buffer up to step {picks['medium_step']}"
    return f"SB3 SAC checkpoint at step {picks[f'{level}_step']} (sampled actions)"


def _input_key(env: str, level: str, prof: Profile, picks: dict) -> str:
    parts = [level, picks["key"], prof.dataset_transitions, COLLECT_SEEDS.get(level)]
    if level in ("medium", "expert"):
        parts.append(sha256(checkpoint_path(env, prof, picks[f"{level}_step"])))
    if level == "medium-replay":
        parts.append(picks["medium_step"])
    if level == "medium-expert":
        parts += [_input_key(env, p, prof, picks) for p in ("medium", "expert")]
        parts.append("eval_env_spec")  # the combined metadata names the evaluation env
    return content_key(parts)


# --- medium-replay ------------------------------------------------------------------------


def medium_replay_path(env: str, prof: Profile) -> Path:
    return behaviour_dir(env, prof) / "medium_replay.npz"


def medium_replay(env: str, prof: Profile, steps: int) -> list[Episode]:
    """The first ``steps`` transitions of the behaviour run's replay buffer, as episodes."""
    path = medium_replay_path(env, prof)
    if path.exists():
        arrays = _read_npz(path)
        if int(arrays["steps"]) == steps:
            recorded = _manifest(env, prof).get("sha256", {}).get(path.name)
            if recorded is not None and recorded != sha256(path):
                raise RuntimeError(
                    f"{path} does not match the sha256 in its manifest ({recorded[:12]}...): "
                    "restore it with `git checkout` or delete it to export it again from "
                    "the replay buffer")
            return _unpack(**arrays)
    export_medium_replay(env, prof, steps)
    return _unpack(**_read_npz(path))


def _read_npz(path: Path) -> dict:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def export_medium_replay(env: str, prof: Profile, steps: int) -> Path:
    """Cut the replay buffer at ``steps`` into episodes and save them compressed (float32)."""
    state = state_dir(env, prof)
    if not (state / "latest").exists():
        raise FileNotFoundError(
            f"medium-replay of {env} needs {medium_replay_path(env, prof)} or the SAC replay "
            f"buffer in {state}; neither is here. Re-run the behaviour training with the same "
            f"seed (`frozensteer data train-behaviour --env {env} --profile {prof.name}`)")
    buffer = load_from_pkl(state / (state / "latest").read_text().strip() / "replay.pkl")
    if buffer.size() < steps:
        raise ValueError(f"the replay buffer holds {buffer.size()} transitions, fewer than the "
                         f"medium step {steps}")
    episodes = _split(buffer.observations[:steps, 0], buffer.next_observations[:steps, 0],
                      buffer.actions[:steps, 0], buffer.rewards[:steps, 0],
                      buffer.dones[:steps, 0].astype(bool), buffer.timeouts[:steps, 0].astype(bool))
    arrays = dict(
        steps=steps,
        observations=np.concatenate([e.observations for e in episodes]).astype(np.float32),
        actions=np.concatenate([e.actions for e in episodes]).astype(np.float32),
        rewards=np.concatenate([e.rewards for e in episodes]).astype(np.float32),
        terminations=np.concatenate([e.terminations for e in episodes]),
        truncations=np.concatenate([e.truncations for e in episodes]),
        lengths=np.array([len(e) for e in episodes], dtype=np.int64))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as stream:
            np.savez_compressed(stream, **arrays)

    return atomic_write(medium_replay_path(env, prof), write)


def _split(obs, next_obs, actions, rewards, dones, timeouts) -> list[Episode]:
    """Cut a stream of transitions into episodes.

    An episode ends where the environment terminated or truncated it, where the stream jumps
    (the next observation is not the following transition's observation: a training run was
    resumed mid-episode), and at the end of the stream; the last two count as truncations.
    """
    n = len(rewards)
    jump = np.zeros(n, dtype=bool)
    jump[:-1] = np.any(next_obs[:-1] != obs[1:], axis=-1)
    jump[-1] = True
    ends = np.flatnonzero(dones | jump)
    episodes, start = [], 0
    for end in ends:
        sl = slice(start, end + 1)
        terminated = dones[end] and not timeouts[end]
        terminations = np.zeros(end + 1 - start, dtype=bool)
        truncations = np.zeros(end + 1 - start, dtype=bool)
        terminations[-1], truncations[-1] = terminated, not terminated
        episodes.append(Episode(np.concatenate([obs[sl], next_obs[end:end + 1]]),
                                actions[sl], rewards[sl], terminations, truncations))
        start = end + 1
    return episodes


def _unpack(steps, observations, actions, rewards, terminations, truncations,
            lengths) -> list[Episode]:
    episodes, step = [], 0
    for i, length in enumerate(lengths):
        row = step + i  # each episode stores one observation more than it has steps
        episodes.append(Episode(
            observations[row:row + length + 1].astype(np.float64), actions[step:step + length],
            rewards[step:step + length].astype(np.float64), terminations[step:step + length],
            truncations[step:step + length]))
        step += length
    return episodes


# --- manifest -----------------------------------------------------------------------------


def write_manifest(env: str, prof: Profile, picks: dict) -> Path:
    """What a reader needs to trust and rebuild the committed behaviour artifacts."""
    out = behaviour_dir(env, prof)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "env": env, "gym_id": gym_id(env), "profile": prof.name, "seed": 0,
        "sac_steps": prof.sac_steps[env], "sac_train_freq": prof.sac_train_freq[env],
        **({"sac_steps_note": f"raised from the protocol's {PROTOCOL_SAC_STEPS[env]:,}: at "
                              "that budget the expert was not clearly beyond D4RL's medium "
                              "returns (data chapter)"}
           if prof.sac_steps[env] > PROTOCOL_SAC_STEPS[env] else {}),
        "eval_every": prof.sac_eval_every,
        "eval_episodes": prof.sac_eval_episodes,
        "command": f"frozensteer data train-behaviour --env {env} --profile {prof.name} --seed 0",
        "rebuild_datasets": f"frozensteer data build --env {env} --profile {prof.name}",
        "frozensteer_version": __version__, "code_commit": git_commit(),
        "medium_step": picks["medium_step"], "expert_step": picks["expert_step"],
        **({"medium_pick_warning": picks["medium_rule"]}
           if picks["medium_rule"] != "threshold" else {}),
        "ref_min_score": picks["ref_min_score"], "ref_max_score": picks["ref_max_score"],
        "curve": "curve.csv", "picks": "picks.json",
        "sha256": {str(p.relative_to(out)): sha256(p) for p in files},
    }
    return save_manifest(out / "manifest.json", manifest)


def _manifest(env: str, prof: Profile) -> dict:
    path = behaviour_dir(env, prof) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}
