"""Successor features and generalised policy improvement (Barreto et al., 2017), the
appendix's SF/GPI baseline: a small library of policies, evaluated once on the dataset, and
at every state the action of whichever the evaluation says is best.

- **Reward features** phi(s, a): the last hidden layer (``features`` units, linear after
  the ReLU layers) of a network trained to predict the reward from (s, a); the weights w
  that give r ~ phi . w are then fitted by least squares on the dataset.
- **Successor features** psi^pi(s, a), the expected discounted sum of phi along pi from
  (s, a), for each policy of the library (``LIBRARY``): the frozen actor, the prior at its
  deployment goal, and PoE at ``alpha`` (each executing its mean, clipped to the bounds).
  They are learned together by TD on the dataset's transitions, with Polyak-averaged
  targets: psi(s, a) <- phi(s, a) + gamma (1 - terminal) psi_target(s', pi(s')).
- **GPI** (rule ``sf-gpi``): at s, among the library's actions {pi(s)}, execute the one with
  the highest max_pi psi^pi(s, a) . w.

``fit_successor`` trains one for a cell's actor and prior; ``Successor.values`` gives each
library policy's psi . w, which the chapter checks against Monte-Carlo returns as it does
the critics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from frozensteer import compose
from frozensteer.agents.iql import mlp
from frozensteer.compose import DiagGaussian
from frozensteer.data.transitions import Transitions
from frozensteer.rules import StepContext, register

LIBRARY = ("actor", "prior", "poe")
ACTION_LOW, ACTION_HIGH = -1.0, 1.0  # the bounds of every locomotion action dimension


@dataclass(frozen=True)
class SFConfig:
    feature_steps: int
    """gradient steps of the reward network"""
    psi_steps: int
    """TD steps of the successor features"""
    features: int = 32
    """dimension of phi: the reward network's last hidden layer"""
    hidden: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    lr: float = 3e-4
    discount: float = 0.99
    tau: float = 0.005
    alpha: float = 0.5
    """PoE's coefficient in the library"""
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class Successor(nn.Module):
    """Reward features, their weights and the library's successor features, on raw
    observations (normalised inside with the dataset's statistics)."""

    def __init__(self, obs_dim: int, act_dim: int, config: SFConfig):
        super().__init__()
        self.obs_dim, self.act_dim, self.config = obs_dim, act_dim, config
        inputs, f = obs_dim + act_dim, config.features
        # a linear bottleneck after the ReLU layers: no feature can die
        self.feature_net = mlp(inputs, config.hidden, f)
        self.reward_head = nn.Linear(f, 1)
        self.psi = mlp(inputs, config.hidden, len(LIBRARY) * f)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("w", torch.zeros(f))

    def _input(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return torch.cat([(obs - self.obs_mean) / self.obs_std, action], dim=-1)

    def phi(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.feature_net(self._input(obs, action))

    def successor(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(B, len(LIBRARY), features): psi of every library policy at (s, a)."""
        return self.psi(self._input(obs, action)).reshape(len(obs), len(LIBRARY), -1)

    def values(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(B, len(LIBRARY)): psi^pi(s, a) . w, each library policy's value of (s, a)."""
        return self.successor(obs, action) @ self.w


def library_actions(actor: DiagGaussian, prior: DiagGaussian, alpha: float) -> torch.Tensor:
    """(B, len(LIBRARY), act_dim): the actions the library's policies execute."""
    means = [actor.mean, prior.mean, compose.poe(actor, prior, alpha).mean]
    return torch.stack(means, dim=1).clamp(ACTION_LOW, ACTION_HIGH)


@torch.no_grad()
def _next_actions(actor, prior, goal, next_obs: np.ndarray, alpha: float,
                  chunk: int = 65_536) -> torch.Tensor:
    """The library's actions at every next state of the dataset, computed once."""
    out = []
    for start in range(0, len(next_obs), chunk):
        obs = torch.as_tensor(next_obs[start:start + chunk])
        a, g = actor(obs), prior(obs, goal)
        a, g = (DiagGaussian(d.mean.double(), d.std.double()) for d in (a, g))
        out.append(library_actions(a, g, alpha).float())
    return torch.cat(out)


def fit_successor(data: Transitions, actor, prior, goal, config: SFConfig, *,
                  progress: bool | str = False) -> tuple[Successor, dict]:
    """The successor features of the library (actor, prior at ``goal``, PoE at
    ``config.alpha``) on ``data``, and a summary: the reward fit's R^2 and the final TD
    loss."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    obs, act = torch.as_tensor(data.observations), torch.as_tensor(data.actions)
    next_obs = torch.as_tensor(data.next_observations)
    reward = torch.as_tensor(data.rewards, dtype=torch.float32)
    live = 1.0 - torch.as_tensor(data.terminals, dtype=torch.float32)
    model = Successor(obs.shape[1], act.shape[1], config)
    model.obs_mean.copy_(obs.mean(0))
    model.obs_std.copy_(obs.std(0).clamp_min(1e-3))

    def batches(steps: int, desc: str):
        for _ in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
            yield torch.randint(len(obs), (config.batch_size,), generator=generator)

    # reward features: the last hidden layer of a reward regression
    opt = torch.optim.Adam([*model.feature_net.parameters(), *model.reward_head.parameters()],
                           lr=config.lr)
    for b in batches(config.feature_steps, f"{progress or 'SF'} features"):
        loss = ((model.reward_head(model.phi(obs[b], act[b])).squeeze(-1) - reward[b]) ** 2
                ).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.feature_net.requires_grad_(False)
    with torch.no_grad():  # w by least squares on a sample of the dataset
        sample = torch.randint(len(obs), (min(len(obs), 100_000),), generator=generator)
        features = model.phi(obs[sample], act[sample]).double()
        target = reward[sample].double()
        w = torch.linalg.lstsq(features, target[:, None]).solution.squeeze(-1)
        model.w.copy_(w.float())
        fitted = features @ w
        r2 = float(1 - ((target - fitted) ** 2).sum() / ((target - target.mean()) ** 2).sum())
    goal_t = None if goal is None else torch.as_tensor(goal, dtype=torch.float32).reshape(1, -1)
    next_actions = _next_actions(actor, prior, goal_t, data.next_observations, config.alpha)
    target_psi = mlp(obs.shape[1] + act.shape[1], config.hidden,
                      len(LIBRARY) * config.features)
    target_psi.load_state_dict(model.psi.state_dict())
    opt = torch.optim.Adam(model.psi.parameters(), lr=config.lr)
    heads = torch.arange(len(LIBRARY))
    td = float("nan")
    for b in batches(config.psi_steps, f"{progress or 'SF'} successor features"):
        with torch.no_grad():
            phi = model.phi(obs[b], act[b])  # (B, F)
            s2 = next_obs[b][:, None].expand(-1, len(LIBRARY), -1)  # (B, L, obs)
            nxt = target_psi(model._input(s2.reshape(-1, s2.shape[-1]),
                                          next_actions[b].reshape(-1, act.shape[1])))
            nxt = nxt.reshape(len(b), len(LIBRARY), len(LIBRARY), -1)[:, heads, heads]
            target = phi[:, None] + config.discount * live[b][:, None, None] * nxt
        loss = ((model.successor(obs[b], act[b]) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for p, p_target in zip(model.psi.parameters(), target_psi.parameters()):
                p_target.lerp_(p, config.tau)
        td = float(loss.detach())
    return model.requires_grad_(False).eval(), {"reward_r2": r2, "final_td_loss": td}


@register("sf-gpi", needs=("successor",))
def _gpi(ctx: StepContext, _coefficient) -> DiagGaussian:
    """Generalised policy improvement over the library's actions at each state."""
    model = ctx.networks["successor"]
    candidates = library_actions(ctx.actor, ctx.prior, model.config.alpha)  # (B, L, A)
    rows, k, _ = candidates.shape
    obs = ctx.obs[:, None].expand(rows, k, ctx.obs.shape[-1]).reshape(rows * k, -1)
    values = model.values(obs, candidates.reshape(rows * k, -1)).reshape(rows, k, -1)
    best = values.max(dim=2).values.argmax(dim=1)  # max over policies, argmax over actions
    return DiagGaussian(candidates[torch.arange(rows), best], ctx.actor.std)
