"""Policy checkpoints: weights plus everything needed to trust and reuse them.

A checkpoint is one ``torch.save`` file holding the network's config and weights (with its
input statistics), the training config, the dataset id, key and content hash, the code
version, the training curve, ``key`` (a hash of the config, dataset key and code version under
which it is cached) and ``weights_sha256`` (a digest of the weights alone, recorded when it
was written).  Every read verifies the weights against that digest, or, for files written
before digests were recorded, the file against the sha256 its profile's ``manifest.json``
lists; a mismatch raises ``DamagedCheckpoint``.  Loading returns a frozen
``GaussianPolicy``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from frozensteer import __version__
from frozensteer.agents.networks import GaussianPolicy, freeze
from frozensteer.provenance import atomic_write, content_key, sha256

REQUIRED = ("kind", "network", "state_dict", "env", "dataset_id", "dataset_key", "dataset_hash",
            "config", "code_version", "curve", "key")


class DamagedCheckpoint(ValueError):
    """A checkpoint whose weights or bytes differ from those recorded when it was written."""


def weights_digest(state_dict: dict) -> str:
    """sha256 of a state dict's tensors (names, dtypes, shapes and bytes), in name order:
    the same weights give the same digest whatever else the file holds (times, curves)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}:".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def policy_id(path: Path) -> str:
    """What results computed with the policy at ``path`` depend on: its weights digest, or
    for a file written before digests were recorded, the file's sha256."""
    payload = read_checkpoint(path)
    return payload.get("weights_sha256") or sha256(path)


def _verify(path: Path, payload: dict, section: str = "policies") -> None:
    if "weights_sha256" in payload and section == "policies":
        if weights_digest(payload["state_dict"]) != payload["weights_sha256"]:
            raise DamagedCheckpoint(
                f"checkpoint {path}: its weights differ from the digest recorded when it was "
                "written; restore it (`git checkout -- <file>` for a committed one) or delete "
                "it and train it again")
        return
    entry = manifest_entry(path, section)
    manifest = path.parents[1] / "manifest.json"
    if entry is not None and sha256(path) != entry["sha256"]:
        repair = (f"retrain it with `{entry['command']}`" if "command" in entry
                  else "retrain its actor")
        raise DamagedCheckpoint(
            f"{path} differs from the sha256 {manifest} recorded for it; restore it with "
            f"`git checkout -- {path}`, or {repair}")


def manifest_entry(path: Path, section: str = "policies") -> dict | None:
    """What the profile's ``manifest.json`` records for the file at ``path`` (None where it
    lists none: a file outside a profile's folder, or of an older checkout)."""
    path = Path(path)
    try:
        listed = json.loads((path.parents[1] / "manifest.json").read_text())[section]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return listed.get(path.relative_to(path.parents[1]).as_posix())


def recorded_goal(path: Path, payload: dict) -> list[float] | None:
    """The deployment goal of the prior at ``path``: kept in the file by priors trained
    since goals were kept, and in the manifest entry (same file sha256) for older ones."""
    if "deployment_goal" in payload:
        return payload["deployment_goal"]
    entry = manifest_entry(path) or {}
    if "deployment_goal" in entry and entry["sha256"] == sha256(path):
        return entry["deployment_goal"]
    return None


def cache_key(kind: str, env: str, dataset_key: str, config: dict) -> str:
    """The cache key of a policy: what it is, on which data, trained how, by which code."""
    return content_key([kind, env, dataset_key, config, __version__])


def save_policy(path: Path, policy: GaussianPolicy, *, kind: str, env: str, dataset_id: str,
                dataset_key: str, dataset_hash: str, config: dict, curve: list[dict],
                wall_s: float | None = None, deployment_goal=None) -> Path:
    """Write ``policy`` (weights only) with its provenance and training time, atomically;
    a prior also keeps the goal it is given at deployment (``deployment_goal``)."""
    payload = {
        "kind": kind, "network": policy.config(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()},
        "env": env, "dataset_id": dataset_id, "dataset_key": dataset_key,
        "dataset_hash": dataset_hash, "config": config,
        "code_version": __version__, "curve": curve, "wall_s": wall_s,
        "key": cache_key(kind, env, dataset_key, config),
    }
    if deployment_goal is not None:
        payload["deployment_goal"] = [float(x) for x in deployment_goal]
    payload["weights_sha256"] = weights_digest(payload["state_dict"])
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_checkpoint(path: Path, *, env: str | None = None, kind: str | None = None) -> dict:
    """The checkpoint's contents, checked; a clear error for a broken or mismatched file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means a broken file
        raise ValueError(f"checkpoint {path} cannot be read ({type(err).__name__}: {err}); "
                         "it is truncated or not a frozensteer checkpoint: retrain it") from err
    missing = [k for k in REQUIRED if not isinstance(payload, dict) or k not in payload]
    if missing:
        raise ValueError(f"checkpoint {path} lacks {missing}: not a frozensteer checkpoint")
    for name, want in (("env", env), ("kind", kind)):
        if want is not None and payload[name] != want:
            article = "an" if payload["kind"][0] in "aeiou" else "a"
            raise ValueError(f"checkpoint {path} is {article} {payload['kind']} for env "
                             f"{payload['env']!r}, but {name}={want!r} was asked for")
    _verify(path, payload)
    return payload


def load_policy(path: Path, *, env: str | None = None, kind: str | None = None) -> GaussianPolicy:
    """A frozen policy from ``path`` (its parameters require no grad; training raises)."""
    payload = read_checkpoint(path, env=env, kind=kind)
    net = payload["network"]
    policy = GaussianPolicy(net["obs_dim"], net["act_dim"], net["goal_dim"],
                            tuple(net["hidden"]))
    policy.load_state_dict(payload["state_dict"])
    frozen = freeze(policy)
    goal = recorded_goal(path, payload)  # None: the goal is not recorded, or not used
    frozen.default_goal = None if goal is None else np.asarray(goal, dtype=np.float32)
    return frozen


CRITIC_REQUIRED = ("kind", "network", "state_dict", "actor_key", "env", "dataset_id",
                   "dataset_key", "config", "code_version")


def save_critics(path: Path, critics, *, actor_key: str, env: str, dataset_id: str,
                 dataset_key: str, config: dict) -> Path:
    """Write IQL critics (weights and input statistics only) beside their actor, atomically;
    ``actor_key`` is the cache key of the actor they were trained with."""
    payload = {"kind": "critic", "network": critics.config(),
               "state_dict": {k: v.detach().cpu().clone()
                              for k, v in critics.state_dict().items()},
               "actor_key": actor_key, "env": env, "dataset_id": dataset_id,
               "dataset_key": dataset_key, "config": config, "code_version": __version__}
    payload["weights_sha256"] = weights_digest(payload["state_dict"])
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_critics(path: Path, *, env: str | None = None):
    """The frozen IQL critics saved at ``path`` (``frozensteer.agents.iql.Critics``)."""
    from frozensteer.agents.iql import Critics

    payload = read_critics(path, env=env)
    net = payload["network"]
    critics = Critics(net["obs_dim"], net["act_dim"], tuple(net["hidden"]),
                      net["reward_scale"], net.get("goal_dim", 0))
    critics.load_state_dict(payload["state_dict"])
    return critics.requires_grad_(False).eval()


def read_critics(path: Path, *, env: str | None = None) -> dict:
    """The contents of a critic file, checked and verified against its weights digest."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no critics at {path}: they are saved by `frozensteer train "
                                "actor` for actors trained since critics were kept")
    try:
        payload = torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means a broken file
        raise ValueError(f"critic file {path} cannot be read ({type(err).__name__}: {err})"
                         ) from err
    missing = [k for k in CRITIC_REQUIRED if not isinstance(payload, dict) or k not in payload]
    if missing or payload["kind"] != "critic":
        raise ValueError(f"{path} is not a frozensteer critic file (lacks {missing})")
    if env is not None and payload["env"] != env:
        raise ValueError(f"critic file {path} is for env {payload['env']!r}, not {env!r}")
    if "weights_sha256" not in payload:  # written before digests: its manifest's sha256
        _verify(path, payload, section="critics")
        payload["weights_sha256"] = sha256(path)
    elif weights_digest(payload["state_dict"]) != payload["weights_sha256"]:
        raise DamagedCheckpoint(f"critic file {path}: its weights differ from the digest "
                                "recorded when it was written; restore or retrain its actor")
    return payload


SUCCESSOR_REQUIRED = ("kind", "network", "state_dict", "actor_key", "prior_id", "goal",
                      "env", "dataset_id", "dataset_key", "summary", "code_version",
                      "weights_sha256")


def save_successor(path: Path, model, *, actor_key: str, prior_id: str, goal, env: str,
                   dataset_id: str, dataset_key: str, summary: dict) -> Path:
    """Write the SF/GPI baseline's networks (``frozensteer.successor.Successor``) with what
    they were fitted on, atomically."""
    payload = {"kind": "successor",
               "network": {"obs_dim": model.obs_dim, "act_dim": model.act_dim,
                           "config": model.config.as_dict()},
               "state_dict": {k: v.detach().cpu().clone()
                              for k, v in model.state_dict().items()},
               "actor_key": actor_key, "prior_id": prior_id,
               "goal": None if goal is None else [float(x) for x in goal], "env": env,
               "dataset_id": dataset_id, "dataset_key": dataset_key, "summary": summary,
               "code_version": __version__}
    payload["weights_sha256"] = weights_digest(payload["state_dict"])
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_successor(path: Path) -> dict:
    """The contents of a successor file, checked against its weights digest."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no successor features at {path}: fit them with "
                                "`frozensteer train successor`")
    payload = torch.load(path, weights_only=True)
    missing = [k for k in SUCCESSOR_REQUIRED if k not in payload]
    if missing or payload["kind"] != "successor":
        raise ValueError(f"{path} is not a frozensteer successor file (lacks {missing})")
    if weights_digest(payload["state_dict"]) != payload["weights_sha256"]:
        raise DamagedCheckpoint(f"successor file {path}: its weights differ from the digest "
                                "recorded when it was written; fit it again")
    return payload


def load_successor(path: Path):
    """The frozen SF/GPI networks saved at ``path``."""
    from frozensteer.successor import SFConfig, Successor

    payload = read_successor(path)
    net = payload["network"]
    config = SFConfig(**{**net["config"], "hidden": tuple(net["config"]["hidden"])})
    model = Successor(net["obs_dim"], net["act_dim"], config)
    model.load_state_dict(payload["state_dict"])
    return model.requires_grad_(False).eval()
