"""Policy networks and checkpoints: DiagGaussian outputs, freezing, round trips, bad files."""

import pytest
import torch

from frozensteer.agents import FrozenError, GaussianPolicy, load_actor, load_prior
from frozensteer.agents.checkpoint import save_policy
from frozensteer.compose import DiagGaussian, poe


def make_policy(goal_dim=0):
    torch.manual_seed(0)
    policy = GaussianPolicy(obs_dim=5, act_dim=3, goal_dim=goal_dim, hidden=(32, 32))
    policy.set_input_statistics(torch.arange(5.0), torch.full((5,), 2.0),
                                torch.zeros(goal_dim), torch.ones(goal_dim))
    return policy


def save(path, policy, kind="actor", env="hopper"):
    return save_policy(path, policy, kind=kind, env=env, dataset_id="frozensteer/hopper/medium-v0",
                       dataset_key="recipe:abc", dataset_hash="abc", config={"steps": 10}, curve=[{"step": 10, "loss": 1.0}])


def test_output_is_a_diag_gaussian_with_clamped_std():
    policy = make_policy()
    with torch.no_grad():
        policy.log_std.bias.fill_(50.0)
        out = policy(torch.randn(7, 5))
    assert isinstance(out, DiagGaussian) and out.shape == (7, 3)
    torch.testing.assert_close(out.std, torch.full((7, 3), torch.e ** 2))


def test_prior_needs_its_goal():
    prior = make_policy(goal_dim=1)
    assert prior(torch.randn(4, 5), torch.randn(4, 1)).shape == (4, 3)
    with pytest.raises(ValueError, match="goal is required"):
        prior(torch.randn(4, 5))


def test_round_trip_is_bit_identical_and_frozen(tmp_path):
    policy = make_policy()
    obs = torch.randn(16, 5)
    with torch.no_grad():
        expected = policy(obs)
    actor = load_actor(save(tmp_path / "actor.pt", policy), env="hopper")
    got = actor(obs)
    assert torch.equal(got.mean, expected.mean) and torch.equal(got.std, expected.std)
    assert not any(p.requires_grad for p in actor.parameters())
    assert not got.mean.requires_grad
    with pytest.raises(FrozenError):
        actor.train()
    with pytest.raises(FrozenError):
        actor.requires_grad_(True)
    # composition works on its outputs directly
    assert poe(got, got, 0.5).shape == (16, 3)


def test_bad_checkpoints_are_explained(tmp_path):
    path = save(tmp_path / "actor.pt", make_policy())
    with pytest.raises(ValueError, match="for env 'hopper', but env='walker2d'"):
        load_actor(path, env="walker2d")
    with pytest.raises(ValueError, match="but kind='prior'"):
        load_prior(path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated or not a frozensteer checkpoint"):
        load_actor(truncated)
    with pytest.raises(FileNotFoundError):
        load_actor(tmp_path / "missing.pt")


def test_cached_policy_is_reused_until_its_data_or_config_change(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from frozensteer.agents import training

    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(training, "from_minari", lambda dataset: None)
    data = tmp_path / "data"
    data.mkdir()
    (data / "main_data.hdf5").write_bytes(b"episodes")
    metadata = {}
    dataset = SimpleNamespace(storage=SimpleNamespace(data_path=str(data), metadata=metadata))
    fits = []

    def fit(_transitions, _key):
        fits.append(1)
        return make_policy(), [{"step": 1, "loss": 0.0}]

    def train(config):
        return training._cached("actor", "hopper", "medium", training.get_profile("smoke"), None,
                                0, "frozensteer/hopper/medium-v0", dataset, config, fit)

    path = train({"steps": 10})
    assert train({"steps": 10}) == path and len(fits) == 1  # unchanged: reused
    (data / "metadata.json").write_text("{}")
    train({"steps": 10})
    assert len(fits) == 1  # metadata is not data
    (data / "main_data.hdf5").write_bytes(b"other episodes")
    train({"steps": 10})
    assert len(fits) == 2  # changed dataset: retrained
    train({"steps": 20})
    assert len(fits) == 3  # changed config: retrained
    path.write_bytes(path.read_bytes()[:100])
    train({"steps": 20})
    assert len(fits) == 4 and load_actor(path).act_dim == 3  # broken file: replaced
    flip_a_weight_bit(path)
    with pytest.warns(UserWarning, match="weights differ from the digest"):
        train({"steps": 20})
    assert len(fits) == 5 and load_actor(path).act_dim == 3  # damaged weights: retrained
    # a locally built dataset is known by its recipe key: the same inputs rebuilt on another
    # CPU give other bytes but the same key; changed inputs give another key
    metadata["frozensteer_key"] = "inputs-1"
    train({"steps": 20})
    (data / "main_data.hdf5").write_bytes(b"same recipe, other CPU")
    train({"steps": 20})
    assert len(fits) == 6
    metadata["frozensteer_key"] = "inputs-2"
    train({"steps": 20})
    assert len(fits) == 7


def test_frozen_policy_pickles_and_copies(tmp_path):
    import copy
    import pickle

    actor = load_actor(save(tmp_path / "actor.pt", make_policy()))
    obs = torch.randn(4, 5)
    for clone in (pickle.loads(pickle.dumps(actor)), copy.deepcopy(actor)):
        assert torch.equal(clone(obs).mean, actor(obs).mean)
        with pytest.raises(FrozenError):
            clone.train()


def flip_a_weight_bit(path):
    payload = torch.load(path, weights_only=True)
    weight = payload["state_dict"]["mean.weight"]
    weight.view(torch.int32)[0, 0] ^= 1  # one bit of one weight
    torch.save(payload, path)


def test_a_flipped_weight_bit_is_caught_on_every_load(tmp_path):
    from frozensteer.agents.checkpoint import DamagedCheckpoint, policy_id

    path = save(tmp_path / "actor.pt", make_policy())
    before = policy_id(path)
    flip_a_weight_bit(path)
    with pytest.raises(DamagedCheckpoint, match="weights differ from the digest"):
        load_actor(path)
    with pytest.raises(DamagedCheckpoint):
        policy_id(path)
    # the key of results is the weights: a rewrite of the same weights keeps it
    again = save(tmp_path / "again.pt", make_policy())
    assert policy_id(again) == before


def test_a_file_without_a_digest_is_checked_against_its_manifest(tmp_path):
    import json

    from frozensteer.agents.checkpoint import DamagedCheckpoint
    from frozensteer.provenance import sha256

    folder = tmp_path / "paper" / "actor"
    folder.mkdir(parents=True)
    path = save(folder / "hopper-medium.pt", make_policy())
    payload = torch.load(path, weights_only=True)
    del payload["weights_sha256"]  # as written before digests were recorded
    torch.save(payload, path)
    (tmp_path / "paper" / "manifest.json").write_text(json.dumps({"policies": {
        "actor/hopper-medium.pt": {"sha256": sha256(path), "command": "frozensteer train"}}}))
    load_actor(path)
    flip_a_weight_bit(path)
    with pytest.raises(DamagedCheckpoint, match="git checkout -- "):
        load_actor(path)


def test_a_damaged_file_is_never_certified_by_the_manifest(tmp_path, monkeypatch):
    from frozensteer.agents import training
    from frozensteer.agents.checkpoint import DamagedCheckpoint

    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path))
    path = training.policy_path("actor", "hopper", "medium", "smoke")
    save(path, make_policy())
    manifest = training.write_manifest("smoke")
    certified = manifest.read_bytes()
    flip_a_weight_bit(path)
    with pytest.raises(DamagedCheckpoint):
        training.write_manifest("smoke")
    assert manifest.read_bytes() == certified


def test_critics_are_verified_like_policies(tmp_path):
    import json

    from frozensteer.agents.checkpoint import (DamagedCheckpoint, load_critics, read_critics,
                                               save_critics)
    from frozensteer.agents.iql import Critics

    folder = tmp_path / "paper" / "critic"
    path = save_critics(folder / "hopper-medium.pt", Critics(5, 3, (8, 8)), actor_key="k",
                        env="hopper", dataset_id="frozensteer/hopper/medium-v0",
                        dataset_key="recipe:abc", config={})
    digest = read_critics(path)["weights_sha256"]
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["value.0.weight"].view(torch.int32)[0, 0] ^= 1
    torch.save(payload, path)
    with pytest.raises(DamagedCheckpoint, match="weights differ from the digest"):
        load_critics(path)
    del payload["weights_sha256"]  # as the first critics were written
    torch.save(payload, path)
    assert read_critics(path)["weights_sha256"] != digest  # keyed on the file instead
    (tmp_path / "paper" / "manifest.json").write_text(json.dumps(
        {"critics": {"critic/hopper-medium.pt": {"sha256": "0" * 64}}}))
    with pytest.raises(DamagedCheckpoint, match="git checkout -- "):
        load_critics(path)


def test_goal_conditioned_critics_read_the_goal_after_the_row_and_keep_it_on_disk(tmp_path):
    from frozensteer.agents.checkpoint import load_critics, save_critics
    from frozensteer.agents.iql import Critics

    torch.manual_seed(0)
    trained = Critics(7, 3, (8, 8))  # as trained: rows of 5 numbers, then a goal of 2
    trained.obs_mean.normal_()
    rows, action = torch.randn(4, 7), torch.randn(4, 3)
    before = trained.q(rows, action), trained.v(rows)
    critics = trained.split_goal(2)
    assert (critics.obs_dim, critics.goal_dim) == (5, 2)
    assert torch.equal(critics.q(rows[:, :5], action, rows[:, 5:]), before[0])
    assert torch.equal(critics.v(rows[:, :5], rows[:, 5:]), before[1])
    one_goal = critics.q(rows[:, :5], action, rows[0, 5:])  # one goal for the batch
    assert torch.equal(one_goal[0], before[0][0])
    with pytest.raises(ValueError, match="goal-conditioned .* pass goal"):
        critics.q(rows[:, :5], action)
    with pytest.raises(ValueError, match="goal_dim must be"):
        critics.split_goal(1)
    path = save_critics(tmp_path / "paper" / "critic" / "antmaze-umaze.pt", critics,
                        actor_key="k", env="antmaze", dataset_id="frozensteer/antmaze/umaze-v0",
                        dataset_key="recipe:abc", config={})
    loaded = load_critics(path)
    assert loaded.goal_dim == 2
    assert torch.equal(loaded.q(rows[:, :5], action, rows[:, 5:]), before[0])


def test_a_prior_takes_what_a_user_passes_and_one_goal_for_the_batch():
    import numpy as np

    prior = make_policy(goal_dim=1)
    obs = np.random.default_rng(0).normal(size=(4, 5))  # numpy float64, a float32 network
    with torch.no_grad():
        expected = prior(torch.as_tensor(obs, dtype=torch.float32), torch.full((4, 1), 0.5))
    for goal in (0.5, [0.5], np.array([[0.5]]), torch.full((4, 1), 0.5)):
        got = prior(obs, goal)
        assert got.mean.dtype == torch.float64 and got.shape == (4, 3)
        torch.testing.assert_close(got.mean, expected.mean.double(), rtol=0, atol=0)
    one = prior(obs[0], [0.5])
    assert one.shape == (3,)  # one row: a matrix-vector product, equal to float32 rounding
    torch.testing.assert_close(one.mean, got.mean[0], rtol=1e-6, atol=1e-7)
    assert torch.equal(prior(obs[0], [[0.5]]).mean, one.mean)
    with pytest.raises(ValueError, match=r"goal must have goal_dim=1 value\(s\) per row, for a "
                                         r"batch of 4: .* got shape \(4, 2\)"):
        prior(obs, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"got shape \(3, 1\)"):
        prior(obs, np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"obs must be one observation \(5,\) or a batch "
                                         r"\(B, 5\), got shape \(4, 6\)"):
        prior(np.zeros((4, 6)), 0.5)
    with pytest.raises(ValueError, match="records no deployment goal"):
        prior(obs)
    prior.default_goal = np.array([0.5], dtype=np.float32)
    assert torch.equal(prior(obs).mean, got.mean)  # the recorded goal, when none is given


def test_a_prior_s_deployment_goal_is_in_its_file_or_its_manifest(tmp_path):
    from frozensteer.agents import training
    from frozensteer.profiles import get_profile

    root = tmp_path / "paper"
    (root / "prior").mkdir(parents=True)

    def save_prior(name, curve=(), **goal):
        return save_policy(root / "prior" / name, make_policy(goal_dim=1), kind="prior",
                           env="hopper", dataset_id="frozensteer/hopper/medium-v0",
                           dataset_key="recipe:abc", dataset_hash="abc",
                           config={"quality": "clean"}, curve=list(curve), **goal)

    new = save_prior("hopper-medium-clean.pt", deployment_goal=[3.0])
    old = save_prior("hopper-medium-degraded.pt")  # trained before files kept their goal
    assert load_prior(new).default_goal.tolist() == [3.0]
    assert load_prior(old).default_goal is None
    prof = get_profile("paper")
    training._write_policy_manifest(prof, root, goals={old.name: [2.5]})
    assert load_prior(old).default_goal.tolist() == [2.5]
    training._write_policy_manifest(prof, root)  # rebuilt: the recorded goal is kept
    assert load_prior(old).default_goal.tolist() == [2.5]
    save_prior("hopper-medium-degraded.pt", curve=[{"step": 1}])  # another file: not its goal
    training._write_policy_manifest(prof, root)
    assert load_prior(old).default_goal is None
