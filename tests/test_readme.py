"""The README's library example runs as printed."""

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace = {}
    exec(blocks[0], namespace)
    torch.testing.assert_close(namespace["steered"].mean, namespace["same_mean"].mean)


def test_the_data_vocabulary_the_readme_promises_is_importable():
    from frozensteer.data import load_dataset

    try:
        load_dataset("frozensteer/hopper/banana-v0")
    except ValueError as err:
        assert "level must be one of" in str(err)
    else:
        raise AssertionError("an unknown level was accepted")


def test_readme_steering_example_runs(monkeypatch):
    import numpy as np

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    monkeypatch.chdir(README.parent)  # its archive path is relative to the checkout
    namespace = {}
    exec(blocks[1], namespace)
    action = namespace["action"]
    assert action.shape == (3,) and np.all(np.abs(action) <= 1)
    assert namespace["pick"].alpha in namespace["pick"].curve or namespace["pick"].alpha == 0
