"""Outside policies as frozen actors: SB3's SAC against its own predict, and plain functions."""

import functools
import gymnasium as gym
import numpy as np
import pytest
import torch

from frozensteer import adapters
from frozensteer.evaluate import evaluate
from frozensteer.rules import Condition

def committed_sac():
    """The committed hopper medium behaviour policy, read by SB3's own loader."""
    from stable_baselines3 import SAC

    from frozensteer.data.picks import sb3_archive

    return SAC.load(sb3_archive("hopper", "paper"), device="cpu")


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
    # a steered SB3 policy clips to the bounds from_sb3 recorded; evaluate takes an env id
    from frozensteer.agents import GaussianPolicy, freeze
    from frozensteer.policy import SteeredPolicy

    prior = freeze(GaussianPolicy(11, 3, 1, hidden=(8,)))
    steered = SteeredPolicy(actor, prior, "poe", alpha=0.5, goal=[3.0])
    np.testing.assert_array_equal(steered.low, model.action_space.low)
    again = evaluate("Hopper-v5", actor, None, None, [Condition("frozen")], [0])
    assert again["length"].iloc[0] >= rows["length"].iloc[0]  # the same start, untruncated
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
