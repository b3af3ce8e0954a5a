"""Implicit Q-learning (Kostrikov et al., 2022) for the frozen locomotion actors.

One readable file, after the shape of CORL's single-file implementation: a trainer class
(``IQL``) whose small update methods (``update_value``, ``update_critics``,
``update_actor``) make one training step (``update``), with ``state_dict`` and
``load_state_dict`` for resumable checkpoints. Twin Q critics have Polyak-averaged targets,
a state-value function is fitted by expectile regression on the target critics, and a
Gaussian actor (``GaussianPolicy``) by advantage-weighted regression.
Rewards are scaled by ``1000 / (max episode return - min episode return)`` of the dataset;
all networks see observations normalised with the dataset's statistics (the protocol
chapter, book/notebooks/protocol.md, "Policies and composition rules"). ``train_iql``
returns the actor and the critics (``Critics``: twin Q and V, kept beside each actor for
critic-guided steering).
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
from frozensteer.provenance import atomic_write


@dataclass(frozen=True)
class IQLConfig:
    steps: int
    """gradient steps of every network"""
    batch_size: int = 256
    """transitions per minibatch, drawn uniformly with replacement"""
    lr: float = 3e-4
    """Adam learning rate of all networks (the actor's decays on a cosine schedule)"""
    discount: float = 0.99
    tau: float = 0.005
    """target-critic update rate"""
    expectile: float = 0.7
    """expectile of the value regression"""
    temperature: float = 3.0
    """inverse temperature of the advantage weights"""
    max_weight: float = 100.0
    """advantage weights are clipped here"""
    hidden: tuple[int, ...] = (256, 256)
    seed: int = 0
    """seeds the initialisation and the minibatch sampler"""

    def as_dict(self) -> dict:
        return asdict(self)


def mlp(inputs: int, hidden: tuple[int, ...], outputs: int = 1) -> nn.Sequential:
    """ReLU layers of ``hidden`` sizes, then a linear layer of ``outputs`` units."""
    layers, width = [], inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, outputs))


def reward_scale(data: Transitions) -> float:
    """``1000 / (max - min)`` of the dataset's episode returns (1 if all are equal)."""
    returns = np.bincount(data.episode, weights=data.rewards)[np.unique(data.episode)]
    spread = float(returns.max() - returns.min())
    return 1000.0 / spread if spread > 0 else 1.0


class Critics(nn.Module):
    """IQL's twin Q and state-value networks on normalised observations.

    ``q(obs, action)`` is min(Q1, Q2) and ``v(obs)`` is V, both on raw observations and in
    the training's scaled reward units (``reward_scale`` times the environment's reward).
    Goal-conditioned critics (``goal_dim`` > 0, AntMaze's) read each observation row
    followed by its goal: ``q(obs, action, goal)`` and ``v(obs, goal)``; other critics
    ignore ``goal``.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (256, 256),
                 reward_scale: float = 1.0, goal_dim: int = 0):
        super().__init__()
        self.obs_dim, self.act_dim, self.hidden = obs_dim, act_dim, tuple(hidden)
        self.goal_dim = int(goal_dim)
        self.reward_scale = float(reward_scale)
        inputs = obs_dim + self.goal_dim
        self.q1, self.q2 = mlp(inputs + act_dim, hidden), mlp(inputs + act_dim, hidden)
        self.value = mlp(inputs, hidden)
        self.register_buffer("obs_mean", torch.zeros(inputs))
        self.register_buffer("obs_std", torch.ones(inputs))

    def config(self) -> dict:
        return {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "hidden": list(self.hidden),
                "reward_scale": self.reward_scale,
                **({"goal_dim": self.goal_dim} if self.goal_dim else {})}

    def split_goal(self, goal_dim: int) -> Critics:
        """These critics, trained on rows whose last ``goal_dim`` numbers are the goal, as
        goal-conditioned critics (the same networks; ``q`` and ``v`` then take the goal)."""
        if not 0 < goal_dim < self.obs_dim or self.goal_dim:
            raise ValueError(f"goal_dim must be between 1 and {self.obs_dim - 1} on critics "
                             f"without a goal, got {goal_dim} (goal_dim now {self.goal_dim})")
        self.obs_dim, self.goal_dim = self.obs_dim - goal_dim, goal_dim
        return self

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def _inputs(self, obs: torch.Tensor, goal) -> torch.Tensor:
        if not self.goal_dim:
            return self.normalise(obs)
        if goal is None:
            raise ValueError(f"these critics are goal-conditioned (goal_dim {self.goal_dim}): "
                             "pass goal, one row or one per observation")
        goal = torch.as_tensor(goal, dtype=obs.dtype).reshape(-1, self.goal_dim)
        return self.normalise(torch.cat([obs, goal.expand(len(obs), -1)], dim=-1))

    def q(self, obs: torch.Tensor, action: torch.Tensor, goal=None) -> torch.Tensor:
        sa = torch.cat([self._inputs(obs, goal), action], dim=-1)
        return torch.min(self.q1(sa), self.q2(sa)).squeeze(-1)

    def v(self, obs: torch.Tensor, goal=None) -> torch.Tensor:
        return self.value(self._inputs(obs, goal)).squeeze(-1)


class IQL:
    """The networks, optimisers and update steps of one IQL run.

    Initialisation draws from torch's global generator seeded with ``config.seed``, in a fixed
    order (actor, Q1, Q2, V), so a seed gives the same networks on every run.
    """

    def __init__(self, obs_mean: torch.Tensor, obs_std: torch.Tensor, act_dim: int,
                 config: IQLConfig, reward_scale: float = 1.0, device: str = "cpu"):
        self.config = config
        torch.manual_seed(config.seed)
        obs_dim = len(obs_mean)
        self.actor = GaussianPolicy(obs_dim, act_dim, hidden=config.hidden)
        self.actor.set_input_statistics(obs_mean, obs_std)
        self.critics = Critics(obs_dim, act_dim, config.hidden, reward_scale)
        self.critics.obs_mean.copy_(obs_mean)
        self.critics.obs_std.copy_(obs_std)
        self.q1_target = copy.deepcopy(self.critics.q1)
        self.q2_target = copy.deepcopy(self.critics.q2)
        for net in (self.actor, self.critics, self.q1_target, self.q2_target):
            net.to(device)
        q, lr = self.critics, config.lr
        self.q_opt = torch.optim.Adam([*q.q1.parameters(), *q.q2.parameters()], lr=lr)
        self.v_opt = torch.optim.Adam(q.value.parameters(), lr=lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.actor_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.actor_opt, max(1, config.steps))

    def update_value(self, s: torch.Tensor, sa: torch.Tensor) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
        """Expectile regression of V(s) towards the smaller target critic; returns the loss
        and the advantage Q_target(s, a) - V(s) (detached), which the actor update uses."""
        with torch.no_grad():
            target_q = torch.min(self.q1_target(sa), self.q2_target(sa)).squeeze(-1)
        diff = target_q - self.critics.value(s).squeeze(-1)
        weight = torch.abs(self.config.expectile - (diff < 0).float())
        loss = (weight * diff**2).mean()
        self.v_opt.zero_grad()
        loss.backward()
        self.v_opt.step()
        return loss, diff.detach()

    def update_critics(self, sa: torch.Tensor, r: torch.Tensor, s_next: torch.Tensor,
                       live: torch.Tensor) -> torch.Tensor:
        """One-step TD of both critics towards r + gamma V(s'), then the Polyak targets."""
        q = self.critics
        with torch.no_grad():
            td_target = r + self.config.discount * live * q.value(s_next).squeeze(-1)
        loss = ((q.q1(sa).squeeze(-1) - td_target) ** 2).mean() + \
            ((q.q2(sa).squeeze(-1) - td_target) ** 2).mean()
        self.q_opt.zero_grad()
        loss.backward()
        self.q_opt.step()
        with torch.no_grad():
            for net, target in ((q.q1, self.q1_target), (q.q2, self.q2_target)):
                for p, p_target in zip(net.parameters(), target.parameters()):
                    p_target.lerp_(p, self.config.tau)
        return loss

    def update_actor(self, obs: torch.Tensor, a: torch.Tensor,
                     advantage: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advantage-weighted log-likelihood of the dataset actions (raw observations: the
        actor normalises its own inputs); returns the loss and the weights (detached)."""
        raw = torch.exp(self.config.temperature * advantage)
        weights = raw.clamp(max=self.config.max_weight)
        loss = -(weights * self.actor(obs).log_prob(a)).mean()
        self.actor_opt.zero_grad()
        loss.backward()
        self.actor_opt.step()
        self.actor_schedule.step()
        return loss, weights

    def update(self, obs, action, reward, next_obs, live, actor: bool = True
               ) -> torch.Tensor:
        """One step of all three updates on a minibatch (``actor=False``: the value and Q
        updates only, which do not depend on the actor): the losses (value, Q, actor) and
        the diagnostics of ``CURVE_STATS`` after them, as one tensor."""
        s, s_next = self.critics.normalise(obs), self.critics.normalise(next_obs)
        sa = torch.cat([s, action], dim=-1)
        v_loss, advantage = self.update_value(s, sa)
        q_loss = self.update_critics(sa, reward, s_next, live)
        if not actor:
            weights = torch.exp(self.config.temperature * advantage).clamp(
                max=self.config.max_weight)
            return torch.stack([v_loss, q_loss, torch.zeros_like(q_loss), advantage.mean(),
                                weights.mean(),
                                (weights >= self.config.max_weight).float().mean()]).detach()
        actor_loss, weights = self.update_actor(obs, action, advantage)
        clipped = (weights >= self.config.max_weight).float().mean()
        return torch.stack([v_loss, q_loss, actor_loss, advantage.mean(), weights.mean(),
                            clipped]).detach()

    def _parts(self) -> dict:
        q = self.critics
        return {"actor": self.actor, "q1": q.q1, "q2": q.q2, "q1_target": self.q1_target,
                "q2_target": self.q2_target, "value": q.value, "q_opt": self.q_opt,
                "v_opt": self.v_opt, "actor_opt": self.actor_opt,
                "actor_schedule": self.actor_schedule}

    def state_dict(self) -> dict:
        return {name: part.state_dict() for name, part in self._parts().items()}

    def load_state_dict(self, state: dict) -> None:
        for name, part in self._parts().items():
            part.load_state_dict(state[name])


# what each row of the loss curve averages over its steps: the three losses, the mean
# advantage Q_target(s, a) - V(s), the mean advantage weight after clipping, and the fraction
# of weights clipped at max_weight
CURVE_STATS = ("value_loss", "q_loss", "actor_loss", "advantage", "weight", "clipped")


def train_iql(data: Transitions, config: IQLConfig, *, progress: bool | str = False,
              state: Path | None = None, state_key: str = "", save_every: int = 10_000,
              device: str = "cpu", critics_only: bool = False, scale: float | None = None
              ) -> tuple[GaussianPolicy, list[dict], Critics]:
    """The IQL actor trained on ``data``, a loss curve (about a hundred rows) and the
    critics, both networks returned on the CPU.  ``device`` is where the networks and data
    live during training; the minibatch indices come from the same CPU generator on every
    device.

    ``critics_only`` skips the actor's updates (its loss is 0 in the curve and it stays
    at its initialisation): IQL's value and Q updates never read the actor, and the
    initialisation and minibatches are the same, so the critics are bit for bit those of
    the full run with this config (on the same device and thread count), in about two
    thirds of its time.  ``scale`` replaces the rewards' scale (``reward_scale`` of the
    data by default).

    With ``state``, the whole training state (networks, targets, optimisers, sampler) is
    saved there every ``save_every`` steps, and a run finding a state saved under the same
    ``state_key`` resumes from it: an interrupted run (or session) loses at most
    ``save_every`` steps.
    """
    if config.steps < 0:
        raise ValueError(f"steps must be >= 0, got {config.steps}")
    mean = torch.as_tensor(data.observations.mean(0))
    std = torch.as_tensor(data.observations.std(0)).clamp_min(1e-3)
    trainer = IQL(mean, std, data.actions.shape[1], config,
                  reward_scale(data) if scale is None else scale, device)

    def tensor(x, dtype=None):
        return torch.as_tensor(x, dtype=dtype).to(device)

    obs, next_obs = tensor(data.observations), tensor(data.next_observations)
    actions = tensor(data.actions)
    rewards = tensor(data.rewards * trainer.critics.reward_scale, torch.float32)
    not_done = 1.0 - tensor(data.terminals, torch.float32)
    generator = torch.Generator().manual_seed(config.seed)

    log_every = max(1, config.steps // 100)
    curve, sums, start, wall = [], torch.zeros(len(CURVE_STATS), device=device), 0, 0.0
    saved = _load_state(state, state_key)
    if saved is not None:
        trainer.load_state_dict(saved)
        generator.set_state(saved["generator"])
        curve, start, wall = saved["curve"], saved["step"], saved.get("wall_s", 0.0)
        sums = torch.zeros(len(CURVE_STATS), device=device)  # a state of an older version
        sums[:len(saved["sums"])] = torch.tensor(saved["sums"], device=device)  # has fewer
    begun = time.perf_counter() - wall
    for step in tqdm(range(start + 1, config.steps + 1), desc=progress or "IQL",
                     initial=start, total=config.steps, disable=not progress, leave=False):
        batch = torch.randint(len(obs), (config.batch_size,), generator=generator).to(device)
        sums += trainer.update(obs[batch], actions[batch], rewards[batch], next_obs[batch],
                               not_done[batch], actor=not critics_only)  # no sync on a GPU
        if step % log_every == 0:
            means = dict(zip(CURVE_STATS, (float(x) for x in sums / log_every)))
            curve.append({"step": step, **means,
                          "wall_s": round(time.perf_counter() - begun, 1),
                          "device": str(device)})
            sums.zero_()
        if state is not None and (step % save_every == 0 or step == config.steps):
            _save_state(state, {"key": state_key, "step": step, "curve": curve,
                                "sums": sums.tolist(), "generator": generator.get_state(),
                                "wall_s": time.perf_counter() - begun,
                                **trainer.state_dict()})
    return trainer.actor.cpu(), curve, trainer.critics.cpu()
def _save_state(path: Path, payload: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _load_state(path: Path | None, key: str) -> dict | None:
    """A saved training state for ``key``; None if there is none, or one for other inputs."""
    if path is None or not path.exists():
        return None
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - a torn file: start afresh
        return None
    return payload if payload.get("key") == key else None
