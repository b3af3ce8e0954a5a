"""Outside policies as frozen actors: SB3's SAC against its own predict, and plain functions."""

import functools
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from frozensteer import adapters
from frozensteer.evaluate import evaluate
from frozensteer.rules import Condition

BEHAVIOUR = Path(__file__).resolve().parents[1] / "artifacts" / "behaviour" / "paper" / "hopper"


def committed_sac():
    """The committed hopper medium behaviour policy, loaded into an SB3 SAC model."""
    from stable_baselines3 import SAC

    step = json.loads((BEHAVIOUR / "picks.json").read_text())["medium_step"]
    model = SAC("MlpPolicy", gym.make("Hopper-v5"), buffer_size=1, device="cpu")
    model.actor.load_state_dict(torch.load(BEHAVIOUR / "checkpoints" / f"step_{step:07d}.pt",
                                           weights_only=True))
    return model


def test_the_sb3_adapter_s_mean_is_sb3_s_deterministic_action():
    model = committed_sac()
    actor = adapters.from_sb3(model)
    env = gym.make("Hopper-v5")
    obs = np.stack([env.reset(seed=s)[0] for s in range(8)]).astype(np.float32)
    mine = actor(torch.as_tensor(obs)).mean.numpy()
    theirs, _ = model.predict(obs, deterministic=True)
    # SB3 runs in float32; the adapter rescales in the observations' dtype: equal to rounding
    np.testing.assert_allclose(mine, theirs, atol=1e-6)
    # the engine's float64 copy keeps SB3's network in float32 and runs an episode
    rows = evaluate(functools.partial(gym.make, "Hopper-v5", max_episode_steps=30), actor,
                    None, None, [Condition("frozen")], [0])
    assert rows["length"].iloc[0] > 0
    unsquashed = adapters.from_sb3(model, squash="none")(torch.as_tensor(obs))
    assert not np.allclose(unsquashed.mean.numpy(), mine)
    with pytest.raises(ValueError, match="squash must be one of"):
        adapters.from_sb3(model, squash="tanh")
    with pytest.raises(ValueError, match="needs an SB3 model or policy"):
        adapters.from_sb3(object())


@pytest.mark.parametrize("output", ["mean_std", "mean_log_std", "torch_normal"])
def test_a_function_returning_a_gaussian_is_an_actor(output):
    def fn(obs):
        mean, spread = obs[:, :2] * 0.1, torch.full((len(obs), 2), 0.5, dtype=obs.dtype)
        if output == "torch_normal":
            return torch.distributions.Normal(mean, spread)
        return mean, (spread.log() if output == "mean_log_std" else spread)

    actor = adapters.from_callable(fn, output=output)
    dist = actor(torch.ones(3, 4, dtype=torch.float64))
    np.testing.assert_allclose(dist.std.numpy(), 0.5)
    assert dist.mean.dtype == torch.float64
    with pytest.raises(ValueError, match="output must be one of"):
        adapters.from_callable(fn, output="logits")
