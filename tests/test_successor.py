"""The SF/GPI baseline: successor features fitted on a dataset whose answer is known, and
GPI picking the library action the features value most."""

import numpy as np
import torch

from frozensteer.compose import DiagGaussian
from frozensteer.data.transitions import Transitions
from frozensteer.rules import Condition
from frozensteer.successor import LIBRARY, SFConfig, Successor, fit_successor


def one_step_data(n=3000, seed=0):
    """One-step episodes with reward a[0]: every Q is the reward itself."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    actions = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return Transitions(observations=obs, actions=actions, rewards=actions[:, 0].astype(float),
                       next_observations=obs, terminals=np.ones(n, bool), episode=np.arange(n))


def fixed(mean):
    def policy(obs, goal=None):
        rows = len(obs)
        return DiagGaussian(torch.full((rows, 2), mean), torch.full((rows, 2), 0.3))
    return policy


def test_successor_features_recover_a_known_value_and_gpi_takes_the_best_action():
    data = one_step_data()
    config = SFConfig(feature_steps=1500, psi_steps=400, features=16, hidden=(32, 32),
                      batch_size=128)
    model, summary = fit_successor(data, fixed(0.5), fixed(-0.5), None, config)
    assert summary["reward_r2"] > 0.9
    obs, act = torch.as_tensor(data.observations[:500]), torch.as_tensor(data.actions[:500])
    with torch.no_grad():
        values = model.values(obs, act)
    assert values.shape == (500, len(LIBRARY))
    assert np.corrcoef(values[:, 0].numpy(), data.rewards[:500])[0, 1] > 0.9
    # GPI over the library's actions (+0.5, -0.5 and their PoE, about 0): the first
    actor = DiagGaussian(torch.full((4, 2), 0.5, dtype=torch.float64),
                         torch.full((4, 2), 0.3, dtype=torch.float64))
    prior = DiagGaussian(torch.full((4, 2), -0.5, dtype=torch.float64),
                         torch.full((4, 2), 0.3, dtype=torch.float64))
    chosen = Condition("sf-gpi").apply(actor, prior, obs=obs[:4].double(),
                                       networks={"successor": model.double()}).mean
    assert torch.equal(chosen, actor.mean)


def test_gpi_maximises_over_policies_then_actions():
    class Known(Successor):
        def values(self, obs, action):  # policy 2 values action dimension 1 highly
            return torch.stack([action[:, 0], -action[:, 0], 10 * action[:, 1]], dim=1)

    model = Known(3, 2, SFConfig(feature_steps=0, psi_steps=0, features=2, hidden=(4,)))
    actor = DiagGaussian(torch.tensor([[0.9, -0.2]]), torch.full((1, 2), 0.3))
    prior = DiagGaussian(torch.tensor([[-0.9, 0.4]]), torch.full((1, 2), 0.3))
    chosen = Condition("sf-gpi").apply(actor, prior, obs=torch.zeros(1, 3),
                                       networks={"successor": model}).mean
    # values: actor's action max(0.9, -0.9, -2) = 0.9; prior's max(-0.9, 0.9, 4) = 4
    assert torch.equal(chosen, prior.mean)
