"""Per-step inference cost of every appendix rule against PoE's, measured in one run.

    python benchmarks/rule_cost.py [--env hopper] [--dataset medium] [--seed 1] [--rows 325]

On one appendix sub-cell of the paper profile (its committed actor, clean prior, critics and
successor features; the defaults name one whose files are committed), for ``--rows``
observations drawn from the cell's dataset (325: the rows of a full sub-cell batch), the
time of one step of PoE and of each condition of the appendix study: the actor's and the prior's
forward passes (the prior's only for a rule that uses it) and the rule's composition, in
float64 with one torch thread as the engine runs them. Prints milliseconds per step (the best
of ``--repeats`` timings of ``--steps`` steps) and each rule's ratio to PoE's; the frozen
actor's own forward pass is the floor. Training costs are not measured here (the closing
notes and the appendix chapter give them).
"""

import argparse
import numpy as np
import torch

from frozensteer.agents import load_actor, load_prior
from frozensteer.agents.checkpoint import load_critics, load_successor
from frozensteer.agents.training import critic_path, policy_path, successor_path
from frozensteer.data import datasets
from frozensteer.data.transitions import from_minari
from frozensteer.experiments import study_conditions
from frozensteer.rules import Condition, step_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--dataset", default="medium")
    parser.add_argument("--seed", type=int, default=1, help="training seed of the sub-cell")
    parser.add_argument("--rows", type=int, default=325)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    study = "appendix" if args.seed == 0 else f"appendix-seed{args.seed}"
    where = (args.env, args.dataset, "paper")
    actor = load_actor(policy_path("actor", *where, seed=args.seed), env=args.env).double()
    prior = load_prior(policy_path("prior", *where, "clean", args.seed), env=args.env).double()
    networks = {"critic": load_critics(critic_path(*where, args.seed), env=args.env).double(),
                "successor": load_successor(successor_path(*where, args.seed)).double()}
    data = from_minari(datasets.load_dataset(datasets.local_id(args.env, args.dataset), "paper"))
    rows = np.random.default_rng(0).choice(len(data), args.rows, replace=False)
    obs = torch.as_tensor(data.observations[rows], dtype=torch.float64)
    goal = prior.default_goal
    goal = torch.as_tensor(np.asarray(goal), dtype=torch.float64).reshape(1, -1).expand(
        args.rows, -1)
    # PoE (any alpha costs the same) beside the appendix study's own conditions
    conds = [Condition("poe", alpha=0.5), *study_conditions(study, "paper")]
    times = {c.label: step_seconds(c, actor, prior, obs, goal, networks, steps=args.steps,
                                   repeats=args.repeats) for c in conds}
    poe = times[conds[0].label]
    print(f"{args.env} {args.dataset}, training seed {args.seed}: one step on {args.rows} "
          "rows, float64, one thread")
    for label, t in times.items():
        print(f"  {label:<24} {1000 * t:8.3f} ms/step   {t / poe:6.2f} x PoE")


if __name__ == "__main__":
    main()
