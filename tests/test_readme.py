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
