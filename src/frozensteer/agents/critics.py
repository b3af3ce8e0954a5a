"""Reading a trained IQL critic against its own data: what the actor's weights were made of,
and whether the critic can be trusted to steer.

``report`` evaluates the critics (``iql.Critics``) on the transitions they were trained on,
part by part (for a medium-expert dataset: its medium and its expert episodes): mean Q and
V, the advantage Q - V, the advantage weights exp(temperature x advantage) and the share of
them clipped at ``max_weight``, the rank correlation of Q with the discounted Monte-Carlo
return that followed each transition, and, given the frozen actor, Q of the actor's action
beside Q of the dataset's (``q_actor_mean``, ``actor_preferred_share``).  IQL can only prefer
the expert's actions if their advantage exceeds the medium ones'; the report shows whether
it did.  ``held_out`` collects fresh episodes of the dataset's behaviour policies (reset
seeds no dataset uses), on which a part ``held-out episodes`` checks the critic's ranking
of returns it never trained on: the appendix baselines' sanity check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats as scipy_stats

from frozensteer.data.transitions import Transitions


def monte_carlo_returns(transitions: Transitions, discount: float) -> np.ndarray:
    """The discounted sum of the rewards from each transition to the end of its episode (no
    bootstrap beyond a truncated episode's last step)."""
    out = np.empty(len(transitions))
    starts = transitions.episode_starts
    for start, end in zip(starts, np.r_[starts[1:], len(transitions)]):
        running = 0.0
        for t in range(end - 1, start - 1, -1):
            running = float(transitions.rewards[t]) + discount * running
            out[t] = running
    return out


HELD_OUT_SEED = 9_000_000  # reset seeds of the held-out episodes (the datasets use 1-3M)
HELD_OUT_TAIL = 500  # later steps (or a terminal) that make a Monte-Carlo return nearly whole


def steps_to_end(transitions: Transitions) -> np.ndarray:
    """How many steps each transition's episode still runs after it, counting it."""
    out = np.empty(len(transitions), dtype=np.int64)
    starts = transitions.episode_starts
    for start, end in zip(starts, np.r_[starts[1:], len(transitions)]):
        out[start:end] = np.arange(end - start, 0, -1)
    return out


def held_out(env: str, dataset: str, profile, transitions: int = 20_000) -> Transitions:
    """Fresh episodes of the behaviour policies that collected ``dataset`` (the medium policy,
    and for medium-expert the expert too, half each), sampled as the data were, with reset
    seeds from ``HELD_OUT_SEED`` on: transitions no critic trained on."""
    import gymnasium as gym

    from frozensteer.data.collect import collect
    from frozensteer.data.envs import gym_id
    from frozensteer.data.picks import checkpoint_path, load_behaviour, pick_policies

    picks = pick_policies(env, profile)
    levels = ["medium", "expert"] if dataset == "medium-expert" else ["medium"]
    episodes = []
    for i, level in enumerate(levels):
        policy = load_behaviour(env, checkpoint_path(env, profile, picks[f"{level}_step"]))
        torch.manual_seed(HELD_OUT_SEED + i)
        episodes += collect(lambda: gym.make(gym_id(env)), policy, transitions // len(levels),
                            seed=HELD_OUT_SEED + 100_000 * i, n_envs=4)  # whole episodes
    return Transitions(  # float32, as the datasets store them
        observations=np.concatenate([e.observations[:-1] for e in episodes]).astype(np.float32),
        actions=np.concatenate([e.actions for e in episodes]).astype(np.float32),
        rewards=np.concatenate([e.rewards for e in episodes]),
        next_observations=np.concatenate([e.observations[1:] for e in episodes]
                                         ).astype(np.float32),
        terminals=np.concatenate([e.terminations for e in episodes]),
        episode=np.concatenate([np.full(len(e), k) for k, e in enumerate(episodes)]))


@torch.no_grad()
def report(critics, transitions: Transitions, parts: np.ndarray, *, discount: float,
           temperature: float, max_weight: float, sample: int = 20_000, seed: int = 0,
           actor=None, held_out_transitions: Transitions | None = None,
           goals: np.ndarray | None = None) -> pd.DataFrame:
    """One row per part (``parts`` names each transition's part) on up to ``sample``
    transitions of it, drawn with ``seed``: Q, V and advantage means, advantage weights,
    the share clipped, Spearman's correlation of Q with the scaled Monte-Carlo return (over
    the sampled transitions whose return is nearly whole: a terminal, or ``HELD_OUT_TAIL``
    more steps, follows them), and with an ``actor``, the mean Q of its mean action (clipped to [-1, 1]) and the share of
    states where it exceeds Q of the dataset's action.  ``held_out_transitions`` add a part
    ``held-out episodes``.  Goal-conditioned critics read each transition's row of
    ``goals``."""
    parts = np.asarray(parts)
    if parts.shape != (len(transitions),):
        raise ValueError(f"parts must name each of the {len(transitions)} transitions, got "
                         f"shape {parts.shape}")
    returns = monte_carlo_returns(transitions, discount) * critics.reward_scale
    usable = _with_tail(transitions)
    rng = np.random.default_rng(seed)
    rows = []
    for part in dict.fromkeys(parts.tolist()):
        index = np.flatnonzero(parts == part)
        index = np.sort(rng.choice(index, size=min(sample, len(index)), replace=False))
        obs = torch.as_tensor(transitions.observations[index])
        act = torch.as_tensor(transitions.actions[index])
        goal = None if goals is None else torch.as_tensor(goals[index])
        q, v = critics.q(obs, act, goal).numpy(), critics.v(obs, goal).numpy()
        advantage = q - v
        weight = np.exp(temperature * advantage)
        rows.append({"part": part, "transitions": int((parts == part).sum()),
                     "sampled": len(index), "q_mean": float(q.mean()),
                     "v_mean": float(v.mean()), "advantage_mean": float(advantage.mean()),
                     "advantage_std": float(advantage.std()),
                     "weight_mean": float(np.minimum(weight, max_weight).mean()),
                     "clipped_share": float((weight >= max_weight).mean()),
                     "q_vs_return_spearman": float(scipy_stats.spearmanr(
                         q[usable[index]], returns[index][usable[index]]).statistic),
                     **_actor_columns(critics, actor, obs, q, goal)})
    if held_out_transitions is not None and _with_tail(held_out_transitions).sum() > 2:
        data = held_out_transitions
        usable = np.flatnonzero(_with_tail(data))
        index = np.sort(rng.choice(usable, size=min(sample, len(usable)), replace=False))
        obs = torch.as_tensor(data.observations[index])
        q = critics.q(obs, torch.as_tensor(data.actions[index])).numpy()
        mc = monte_carlo_returns(data, discount)[index] * critics.reward_scale
        rows.append({"part": "held-out episodes", "transitions": len(data),
                     "sampled": len(index), "q_mean": float(q.mean()),
                     "v_mean": float(critics.v(obs).numpy().mean()),
                     "q_vs_return_spearman": float(scipy_stats.spearmanr(q, mc).statistic),
                     **_actor_columns(critics, actor, obs, q)})
    return pd.DataFrame(rows)


def _with_tail(transitions: Transitions) -> np.ndarray:
    """Whether each transition's Monte-Carlo return is (nearly) whole: its episode ends in a
    terminal, or runs ``HELD_OUT_TAIL`` more steps (0.99^500 < 0.7%)."""
    ends_in_terminal = np.zeros(len(transitions), dtype=bool)
    starts = transitions.episode_starts
    for start, end in zip(starts, np.r_[starts[1:], len(transitions)]):
        ends_in_terminal[start:end] = bool(transitions.terminals[end - 1])
    return (steps_to_end(transitions) >= HELD_OUT_TAIL) | ends_in_terminal


def _actor_columns(critics, actor, obs: torch.Tensor, q_data: np.ndarray,
                   goal: torch.Tensor | None = None) -> dict:
    if actor is None:
        return {}
    action = actor(obs).mean.clamp(-1.0, 1.0).to(obs.dtype)
    q_actor = critics.q(obs, action, goal).numpy()
    return {"q_actor_mean": float(q_actor.mean()),
            "actor_preferred_share": float((q_actor > q_data).mean())}
