"""frozensteer: deployment-time steering of frozen offline-RL actors.

The library behind the executable reproduction of "When Policies Cannot Be Retrained"
(arXiv 2604.22873).  The deployment path, importable from here:

- ``DiagGaussian``, ``poe``, ``kl_reg``, ``kl``: the closed-form algebra (``compose``);
- ``Condition``: a rule of the registry and its coefficient (``rules``);
- ``load_actor``, ``load_prior``: frozen frozensteer policies from their files (``agents``);
  ``from_sb3``, ``from_callable``: an outside policy as a frozen actor (``adapters``);
- ``visited_states``, ``kl_curve``, ``select_alpha``: the KL-budget selector on your own
  policy's states, and ``SteeredPolicy``: a composed policy that acts, with SB3's
  ``predict`` (``policy``);
- ``evaluate``: the paired evaluation of conditions on the same reset seeds (``evaluate``).
"""

import importlib

__version__ = "0.1.0"

_WHERE = {"DiagGaussian": "frozensteer.compose", "poe": "frozensteer.compose",
          "kl_reg": "frozensteer.compose", "kl": "frozensteer.compose",
          "Condition": "frozensteer.rules", "load_actor": "frozensteer.agents",
          "load_prior": "frozensteer.agents", "from_sb3": "frozensteer.adapters",
          "from_callable": "frozensteer.adapters", "kl_curve": "frozensteer.policy",
          "select_alpha": "frozensteer.policy", "SteeredPolicy": "frozensteer.policy",
          "visited_states": "frozensteer.policy", "evaluate": "frozensteer.evaluate"}
__all__ = list(_WHERE)


def __getattr__(name: str):
    """The public names, imported on first use (``import frozensteer`` stays light)."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'frozensteer' has no attribute {name!r}")
