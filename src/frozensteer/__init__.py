"""frozensteer: deployment-time steering of frozen offline-RL actors.

The library behind the executable reproduction of "When Policies Cannot Be Retrained"
(arXiv 2604.22873).  ``frozensteer.compose`` holds the composition rules.
"""

__version__ = "0.1.0"
