"""Data: environments, behaviour policies and the datasets built from them.

``frozensteer.data.load_dataset(dataset_id, profile)`` returns a Minari dataset: a local
build (``frozensteer/<env>/<level>-v0``) or a maintained Minari id (see
``frozensteer.data.datasets``).  Minari is imported only when it is called, so the trainers
can import ``frozensteer.data.transitions`` where Minari is absent.
"""

from __future__ import annotations

__all__ = ["load_dataset"]


def load_dataset(dataset_id: str, profile="paper"):
    """A Minari dataset: local (``frozensteer/...``, built at ``profile``) or maintained."""
    from frozensteer.data.datasets import load_dataset as load

    return load(dataset_id, profile)
