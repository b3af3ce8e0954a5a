"""Reading a trained IQL critic against its own data: what the actor's weights were made of.

``report`` evaluates the critics (``iql.Critics``) on the transitions they were trained on,
part by part (for a medium-expert dataset: its medium and its expert episodes): mean Q and
V, the advantage Q - V, the advantage weights exp(temperature x advantage) and the share of
them clipped at ``max_weight``, and the rank correlation of Q with the discounted
Monte-Carlo return that followed each transition.  IQL can only prefer the expert's actions
if their advantage exceeds the medium ones'; the report shows whether it did.
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


@torch.no_grad()
def report(critics, transitions: Transitions, parts: np.ndarray, *, discount: float,
           temperature: float, max_weight: float, sample: int = 20_000, seed: int = 0
           ) -> pd.DataFrame:
    """One row per part (``parts`` names each transition's part) on up to ``sample``
    transitions of it, drawn with ``seed``: Q, V and advantage means, advantage weights,
    the share clipped, and Spearman's correlation of Q with the scaled Monte-Carlo return."""
    parts = np.asarray(parts)
    if parts.shape != (len(transitions),):
        raise ValueError(f"parts must name each of the {len(transitions)} transitions, got "
                         f"shape {parts.shape}")
    returns = monte_carlo_returns(transitions, discount) * critics.reward_scale
    rng = np.random.default_rng(seed)
    rows = []
    for part in dict.fromkeys(parts.tolist()):
        index = np.flatnonzero(parts == part)
        index = np.sort(rng.choice(index, size=min(sample, len(index)), replace=False))
        obs = torch.as_tensor(transitions.observations[index])
        act = torch.as_tensor(transitions.actions[index])
        q, v = critics.q(obs, act).numpy(), critics.v(obs).numpy()
        advantage = q - v
        weight = np.exp(temperature * advantage)
        rows.append({"part": part, "transitions": int((parts == part).sum()),
                     "sampled": len(index), "q_mean": float(q.mean()),
                     "v_mean": float(v.mean()), "advantage_mean": float(advantage.mean()),
                     "advantage_std": float(advantage.std()),
                     "weight_mean": float(np.minimum(weight, max_weight).mean()),
                     "clipped_share": float((weight >= max_weight).mean()),
                     "q_vs_return_spearman": float(scipy_stats.spearmanr(
                         q, returns[index]).statistic)})
    return pd.DataFrame(rows)
