"""Dataset ids, Minari roots, and loading datasets: local builds or the maintained Minari ones.

Locally built datasets have ids ``frozensteer/<env>/<level>-v0`` and are real Minari
datasets, so plain ``minari.load_dataset`` and ``minari.get_normalized_score`` work on them.
Each profile keeps its own Minari root (``minari_root(profile)``): the paper profile uses
Minari's own (``MINARI_DATASETS_PATH``, default ``~/.minari/datasets``), the others a sibling
folder named after the profile, so that a smoke build never shadows a paper one.

Remote ids (``mujoco/<env>/<level>-v0``, ``D4RL/antmaze/<maze>-v1``) load from Minari's root,
or are downloaded when the internet can be reached; offline, ``load_dataset`` fails within a
few seconds and names the local equivalent and the command that builds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import threading
import warnings
from pathlib import Path

import minari
import numpy as np
from gymnasium.envs.registration import EnvSpec
from minari.data_collector import EpisodeBuffer

from frozensteer.families import ANTMAZE, LOCOMOTION, family
from frozensteer.profiles import Profile, get_profile
from frozensteer.provenance import process_alive

NAMESPACE = "frozensteer"
LEVELS = LOCOMOTION.levels
MAZES = ANTMAZE.levels  # the "levels" of env ``antmaze``
REMOTE_HOST = ("huggingface.co", 443)  # where Minari downloads datasets from
ONLINE_TIMEOUT_S = 3.0


def local_id(env: str, level: str) -> str:
    """``frozensteer/<env>/<level>-v0``: ``level`` names one of the environment's datasets
    (D4RL's word; the grid, the CLI and the policy files call the same name ``dataset``)."""
    levels = family(env).levels
    if level not in levels:
        raise ValueError(f"level must be one of {list(levels)} for env {env!r}, got {level!r}")
    return f"{NAMESPACE}/{env}/{level}-v0"


def parse_local_id(dataset_id: str) -> tuple[str, str]:
    """``frozensteer/<env>/<level>-v0`` -> (env, level)."""
    parts = dataset_id.split("/")
    if len(parts) != 3 or parts[0] != NAMESPACE or not parts[2].endswith("-v0"):
        raise ValueError(f"dataset_id must look like {NAMESPACE}/<env>/<level>-v0, "
                         f"got {dataset_id!r}")
    return parts[1], parts[2][: -len("-v0")]


def local_equivalent(remote_id: str) -> str | None:
    """The local id standing in for a maintained Minari id, if there is one."""
    parts = remote_id.split("/")
    if len(parts) == 3 and parts[0] == "mujoco":
        level = parts[2].rsplit("-v", 1)[0]
        return f"{NAMESPACE}/{parts[1]}/{level}-v0" if level in LEVELS else None
    if len(parts) == 3 and parts[:2] == ["D4RL", "antmaze"]:
        return f"{NAMESPACE}/antmaze/{parts[2].rsplit('-v', 1)[0]}-v0"
    return None


def minari_root(profile: Profile | str = "paper") -> Path:
    """The Minari root holding the datasets built at ``profile``."""
    default = Path(os.environ.get("MINARI_DATASETS_PATH",
                                  Path.home() / ".minari" / "datasets"))
    name = get_profile(profile).name
    return default if name == "paper" else default.with_name(f"{default.name}-{name}")


@contextlib.contextmanager
def using_root(root: Path):
    """Point Minari at ``root`` for the duration of the block."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield root
    finally:
        if before is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def dataset_path(dataset_id: str, profile: Profile | str = "paper") -> Path:
    return minari_root(profile) / dataset_id


def load_dataset(dataset_id: str, profile: Profile | str = "paper", *, verify: bool = True
                 ) -> minari.MinariDataset:
    """A Minari dataset: local (``frozensteer/...``, built at ``profile``) or maintained.

    A local dataset's data files are checked against the digest recorded in its metadata when
    it was built (``verify=False`` skips that); a damaged one raises, naming the build that
    replaces it."""
    prof = get_profile(profile)
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise ValueError(f"dataset_id must name a dataset, e.g. {NAMESPACE}/hopper/medium-v0 "
                         f"or mujoco/hopper/medium-v0, got {dataset_id!r}")
    if dataset_id.startswith(f"{NAMESPACE}/"):
        env, level = parse_local_id(dataset_id)
        local_id(env, level)  # an unknown env or level is named, not offered a build
        return _open_local(dataset_id, prof, _build_command(env, prof), verify)
    root = minari_root("paper")
    if (root / dataset_id / "data").exists():
        return _open_local(dataset_id, get_profile("paper"), f"minari download {dataset_id}")
    local = local_equivalent(dataset_id)
    if not _online():
        hint = (f"its local equivalent is {local!r}: build it with "
                f"`{_build_command(parse_local_id(local)[0], prof)}` and load that id"
                if local else "no local recipe builds it")
        raise ConnectionError(
            f"dataset {dataset_id!r} is not in the Minari root {root} and "
            f"{REMOTE_HOST[0]} cannot be reached; {hint}")
    try:
        with using_root(root):
            return minari.load_dataset(dataset_id, download=True)
    except ImportError as err:
        raise ImportError(f"downloading {dataset_id!r} needs minari's hub client: "
                          f'pip install "minari[hf]" ({err})') from err


def _open_local(dataset_id: str, prof: Profile, rebuild: str, verify: bool = False
                ) -> minari.MinariDataset:
    root = minari_root(prof)
    path = root / dataset_id
    if not path.exists():
        raise FileNotFoundError(f"dataset {dataset_id!r} is not built at profile "
                                f"{prof.name} (looked in {path}): run `{rebuild}`")
    try:
        with using_root(root):
            dataset = minari.load_dataset(dataset_id)
        _check_complete(dataset, need_refs=dataset_id.startswith(f"{NAMESPACE}/"))
        recorded = dataset.storage.metadata.get("data_sha256")
        if verify and recorded is not None and content_digest(dataset) != recorded:
            raise ValueError("its data files differ from the sha256 recorded when it was built")
    except Exception as err:  # noqa: BLE001 - any failure to read means a broken folder
        raise RuntimeError(f"dataset {dataset_id!r} at {path} is incomplete or corrupted "
                           f"({type(err).__name__}: {err}); rebuild it with `{rebuild}`, "
                           "which replaces the folder") from err
    return dataset


def _check_complete(dataset: minari.MinariDataset, need_refs: bool) -> None:
    """Raise if the dataset has no episodes, lacks the reference scores every local build
    writes, or cannot be read from end to end."""
    meta = dataset.storage.metadata
    episodes = dataset.storage.total_episodes
    has_refs = "ref_min_score" in meta and "ref_max_score" in meta
    if episodes == 0 or (need_refs and not has_refs):
        raise ValueError(f"{episodes} episodes, reference scores "
                         f"{'present' if has_refs else 'missing'}")
    # reading the first and the last episode touches the data file from end to end
    for episode in dataset.iterate_episodes(episode_indices=[0, episodes - 1]):
        obs = episode.observations
        n_obs = len(next(iter(obs.values())) if isinstance(obs, dict) else obs)
        if n_obs != len(episode.rewards) + 1:
            raise ValueError(f"episode {episode.id} has {n_obs} "
                             f"observations for {len(episode.rewards)} steps")


def _build_command(env: str, prof: Profile) -> str:
    return f"frozensteer data build --env {env} --profile {prof.name}"


def _online() -> bool:
    """Whether Minari's host answers within ONLINE_TIMEOUT_S (DNS included)."""
    answered = []

    def probe():
        try:
            socket.create_connection(REMOTE_HOST, timeout=ONLINE_TIMEOUT_S).close()
            answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(ONLINE_TIMEOUT_S)
    return bool(answered)


def write_dataset(dataset_id: str, episodes, prof: Profile, *, eval_env: str | EnvSpec,
                  ref_min_score: float, ref_max_score: float, description: str,
                  algorithm_name: str) -> minari.MinariDataset:
    """Write ``episodes`` (collect.Episode; observations an array, or a dict of arrays)
    as a Minari dataset, replacing any old one.

    The dataset is written in a staging folder and moved into place at the end, so a killed
    build never leaves a half-written dataset under the real id.
    """
    buffers = [EpisodeBuffer(id=i, seed=e.seed, observations=e.observations,
                             actions=e.actions, rewards=e.rewards,
                             terminations=e.terminations, truncations=e.truncations)
               for i, e in enumerate(episodes)]
    root = minari_root(prof)
    with _staging(root) as staging:
        with using_root(staging), warnings.catch_warnings():
            # minari asks for a code permalink and an author e-mail; the local recipe has
            # neither, and its provenance lives in the behaviour manifest instead
            warnings.filterwarnings("ignore", message=r"`(code_permalink|author_email)`")
            minari.create_dataset_from_buffers(
                dataset_id, buffers, env=eval_env, eval_env=eval_env,
                algorithm_name=algorithm_name, author="frozensteer",
                ref_min_score=ref_min_score, ref_max_score=ref_max_score,
                description=description, data_format="hdf5")
        _move_into_place(dataset_id, staging, root)
    return load_dataset(dataset_id, prof)


def combine(dataset_id: str, parts: list[str], prof: Profile, **metadata) -> minari.MinariDataset:
    """A dataset holding every episode of ``parts`` (in order), with ``metadata`` added."""
    datasets = [load_dataset(p, prof) for p in parts]
    root = minari_root(prof)
    with _staging(root) as staging:
        (staging / dataset_id).parent.mkdir(parents=True)
        with using_root(staging):
            combined = minari.combine_datasets(datasets, dataset_id)
            combined.storage.update_metadata(metadata)
        _move_into_place(dataset_id, staging, root)
    return load_dataset(dataset_id, prof)


@contextlib.contextmanager
def _staging(root: Path):
    """A scratch Minari root beside ``root``, removed afterwards whatever happens; the
    scratch roots of builds that were killed (their process is gone) are removed first."""
    for stale in root.parent.glob(f"{root.name}.staging-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = root.with_name(f"{root.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(dataset_id: str, staging: Path, root: Path) -> None:
    with using_root(root):
        if NAMESPACE not in minari.namespace.list_local_namespaces():
            minari.namespace.create_namespace(NAMESPACE)
    target = root / dataset_id
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    (staging / dataset_id).rename(target)


def stored_key(dataset_id: str, prof: Profile) -> str | None:
    """The recipe's input key of an existing, readable, intact local dataset (None if absent,
    broken or damaged): a build reuses a dataset whose key matches its inputs.  A dataset
    built before digests were recorded gets its digest recorded here."""
    try:
        dataset = load_dataset(dataset_id, prof)
    except FileNotFoundError:
        return None
    except RuntimeError as err:
        warnings.warn(f"{err}: it is rebuilt", stacklevel=2)
        return None
    if "data_sha256" not in dataset.storage.metadata:
        record_digest(dataset)
    return dataset.storage.metadata.get("frozensteer_key")


def content_digest(dataset: minari.MinariDataset) -> str:
    """sha256 of a Minari dataset's data files (not its metadata): new data, new digest."""
    digest = hashlib.sha256()
    for f in sorted(Path(dataset.storage.data_path).rglob("*")):
        if f.is_file() and f.name != "metadata.json":
            with f.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 24), b""):
                    digest.update(block)
    return digest.hexdigest()


def record_digest(dataset: minari.MinariDataset) -> None:
    """Record the digest of the dataset's data files in its metadata (done at build time)."""
    dataset.storage.update_metadata({"data_sha256": content_digest(dataset)})


def episode_returns(dataset: minari.MinariDataset) -> np.ndarray:
    """The undiscounted return of every episode of ``dataset``, in its order."""
    return np.array([float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()])


def normalised_score(dataset: minari.MinariDataset, returns) -> np.ndarray:
    """D4RL's normalised score in percent, ``100 (return - ref_min) / (ref_max - ref_min)``,
    with the reference returns the dataset carries (``ref_min_score``, ``ref_max_score``).

    The one place scores are normalised.  It is ``100 x minari.get_normalized_score``, with
    the product taken before the division: that order is the one every committed table was
    computed in (Minari's order changes the last bit of about a third of them).
    """
    meta = dataset.storage.metadata
    low, high = meta.get("ref_min_score"), meta.get("ref_max_score")
    if low is None or high is None:
        raise ValueError(f"dataset {dataset.spec.dataset_id} has no reference scores "
                         "(ref_min_score, ref_max_score): its returns cannot be normalised")
    if not high > low:
        raise ValueError(f"dataset {dataset.spec.dataset_id} has ref_max_score {high} <= "
                         f"ref_min_score {low}: every normalised score would be inverted; "
                         "rebuild it with `frozensteer data build --rebuild`")
    return 100 * (np.asarray(returns, dtype=np.float64) - low) / (high - low)


def summary(dataset_id: str, prof: Profile, verify: bool = True) -> dict:
    """Episodes, transitions, mean return and mean normalised score of a local dataset
    (for AntMaze, whose reward is 1 near the goal: the percent of episodes reaching it)."""
    dataset = load_dataset(dataset_id, prof, verify=verify)
    returns = episode_returns(dataset)
    scores = family(parse_local_id(dataset_id)[0]).score(returns, returns > 0, dataset)
    return {"dataset": dataset_id, "episodes": dataset.total_episodes,
            "transitions": dataset.total_steps, "mean_return": float(returns.mean()),
            "mean_score": float(np.mean(scores)),
            "digest_recorded": "data_sha256" in dataset.storage.metadata}


def list_local(prof: Profile) -> list[str]:
    """Ids of the local datasets built at ``prof``."""
    root = minari_root(prof) / NAMESPACE
    return sorted(f"{NAMESPACE}/{p.parent.name}/{p.name}"
                  for p in root.glob("*/*-v0") if p.is_dir())
