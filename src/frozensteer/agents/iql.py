"""Implicit Q-learning (Kostrikov et al., 2022) for the frozen locomotion actors.

One readable file, after the shape of CORL's single-file implementation: twin Q critics with
Polyak-averaged targets, a state-value function fitted by expectile regression on the target
critics, and a Gaussian actor (``GaussianPolicy``) fitted by advantage-weighted regression.
Rewards are scaled by ``1000 / (max episode return - min episode return)`` of the dataset;
all networks see observations normalised with the dataset's statistics (PROTOCOL.md 8).
Training can be interrupted and resumed (``state``), also on another device: a run begun on
a GPU (``device="cuda"``) can be finished on a CPU. Each row of the loss curve carries the
cumulative training time and the device that reached it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from frozensteer.agents.networks import GaussianPolicy
from frozensteer.data.transitions import Transitions


@dataclass(frozen=True)
class IQLConfig:
    steps: int
    batch_size: int = 256
    lr: float = 3e-4
    discount: float = 0.99
    tau: float = 0.005  # target-critic update rate
    expectile: float = 0.7
    temperature: float = 3.0  # inverse temperature of the advantage weights
    max_weight: float = 100.0  # advantage weights are clipped here
    hidden: tuple[int, ...] = (256, 256)
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def mlp(inputs: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers, width = [], inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 1))


def reward_scale(data: Transitions) -> float:
    """``1000 / (max - min)`` of the dataset's episode returns (1 if all are equal)."""
    returns = np.bincount(data.episode, weights=data.rewards)[np.unique(data.episode)]
    spread = float(returns.max() - returns.min())
    return 1000.0 / spread if spread > 0 else 1.0


def train_iql(data: Transitions, config: IQLConfig, *, progress: bool | str = False,
              state: Path | None = None, state_key: str = "", save_every: int = 10_000,
              device: str = "cpu") -> tuple[GaussianPolicy, list[dict]]:
    """The IQL actor trained on ``data`` (returned on the CPU), and a loss curve (about a
    hundred rows).  ``device`` is where the networks and data live during training; the
    minibatch indices come from the same CPU generator on every device.

    With ``state``, the whole training state (networks, targets, optimisers, sampler) is
    saved there every ``save_every`` steps, and a run finding a state saved under the same
    ``state_key`` resumes from it: an interrupted run (or session) loses at most
    ``save_every`` steps.
    """
    if config.steps < 0:
        raise ValueError(f"steps must be >= 0, got {config.steps}")
    torch.manual_seed(config.seed)
    obs_dim, act_dim = data.observations.shape[1], data.actions.shape[1]
    mean = torch.as_tensor(data.observations.mean(0))
    std = torch.as_tensor(data.observations.std(0)).clamp_min(1e-3)

    actor = GaussianPolicy(obs_dim, act_dim, hidden=config.hidden)
    actor.set_input_statistics(mean, std)
    q1, q2 = mlp(obs_dim + act_dim, config.hidden), mlp(obs_dim + act_dim, config.hidden)
    q1_target, q2_target = copy.deepcopy(q1), copy.deepcopy(q2)
    value = mlp(obs_dim, config.hidden)
    for net in (actor, q1, q2, q1_target, q2_target, value):
        net.to(device)

    def tensor(x, dtype=None):
        return torch.as_tensor(x, dtype=dtype).to(device)

    mean, std = mean.to(device), std.to(device)

    def norm(x):
        return (x - mean) / std

    obs, next_obs = tensor(data.observations), tensor(data.next_observations)
    actions = tensor(data.actions)
    rewards = tensor(data.rewards * reward_scale(data), torch.float32)
    not_done = 1.0 - tensor(data.terminals, torch.float32)
    q_opt = torch.optim.Adam([*q1.parameters(), *q2.parameters()], lr=config.lr)
    v_opt = torch.optim.Adam(value.parameters(), lr=config.lr)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=config.lr)
    actor_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(actor_opt, max(1, config.steps))
    generator = torch.Generator().manual_seed(config.seed)

    log_every = max(1, config.steps // 100)
    curve, sums, start, wall = [], torch.zeros(3, device=device), 0, 0.0
    modules = {"actor": actor, "q1": q1, "q2": q2, "q1_target": q1_target,
               "q2_target": q2_target, "value": value, "q_opt": q_opt, "v_opt": v_opt,
               "actor_opt": actor_opt, "actor_schedule": actor_schedule}
    saved = _load_state(state, state_key)
    if saved is not None:
        for name, module in modules.items():
            module.load_state_dict(saved[name])
        generator.set_state(saved["generator"])
        curve, start, wall = saved["curve"], saved["step"], saved.get("wall_s", 0.0)
        sums = torch.tensor(saved["sums"], device=device)
    begun = time.perf_counter() - wall
    for step in tqdm(range(start + 1, config.steps + 1), desc=progress or "IQL",
                     initial=start, total=config.steps, disable=not progress, leave=False):
        batch = torch.randint(len(obs), (config.batch_size,), generator=generator).to(device)
        s, a, r = norm(obs[batch]), actions[batch], rewards[batch]
        s_next, live = norm(next_obs[batch]), not_done[batch]
        sa = torch.cat([s, a], dim=-1)

        # value: expectile regression towards the smaller target critic
        with torch.no_grad():
            target_q = torch.min(q1_target(sa), q2_target(sa)).squeeze(-1)
        diff = target_q - value(s).squeeze(-1)  # also the actor's advantage (as in CORL)
        weight = torch.abs(config.expectile - (diff < 0).float())
        v_loss = (weight * diff**2).mean()
        v_opt.zero_grad()
        v_loss.backward()
        v_opt.step()

        # critics: one-step TD towards r + gamma V(s')
        with torch.no_grad():
            td_target = r + config.discount * live * value(s_next).squeeze(-1)
        q_loss = ((q1(sa).squeeze(-1) - td_target) ** 2).mean() + \
            ((q2(sa).squeeze(-1) - td_target) ** 2).mean()
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        with torch.no_grad():
            for net, target in ((q1, q1_target), (q2, q2_target)):
                for p, p_target in zip(net.parameters(), target.parameters()):
                    p_target.lerp_(p, config.tau)

        # actor: advantage-weighted log-likelihood of the dataset actions
        weights = torch.exp(config.temperature * diff.detach()).clamp(max=config.max_weight)
        actor_loss = -(weights * actor(obs[batch]).log_prob(a)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        actor_schedule.step()

        sums += torch.stack([v_loss, q_loss, actor_loss]).detach()  # no sync on a GPU
        if step % log_every == 0:
            v, q, pi = (float(x) for x in sums / log_every)
            curve.append({"step": step, "value_loss": v, "q_loss": q, "actor_loss": pi,
                          "wall_s": round(time.perf_counter() - begun, 1),
                          "device": str(device)})
            sums.zero_()
        if state is not None and (step % save_every == 0 or step == config.steps):
            _save_state(state, {"key": state_key, "step": step, "curve": curve,
                                "sums": sums.tolist(), "generator": generator.get_state(),
                                "wall_s": time.perf_counter() - begun,
                                **{name: m.state_dict() for name, m in modules.items()}})
    return actor.cpu(), curve


def _save_state(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _load_state(path: Path | None, key: str) -> dict | None:
    """A saved training state for ``key``; None if there is none, or one for other inputs."""
    if path is None or not path.exists():
        return None
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - a torn file: start afresh
        return None
    return payload if payload.get("key") == key else None
