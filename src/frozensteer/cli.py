"""The ``frozensteer`` command."""

from __future__ import annotations

import argparse
import sys

from frozensteer.data.envs import GYM_IDS
from frozensteer.profiles import PROFILES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frozensteer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="behaviour policies and datasets")
    data_cmds = data.add_subparsers(dest="data_command", required=True)
    behaviour = data_cmds.add_parser(
        "train-behaviour", help="train (or resume) the SAC behaviour policy of an environment")
    behaviour.add_argument("--env", required=True)
    behaviour.add_argument("--profile", default="paper", choices=sorted(PROFILES))
    behaviour.add_argument("--seed", type=int, default=0)
    behaviour.add_argument("--threads", type=int, default=1,
                           help="torch threads (default 1: leaves the other core free)")

    build = data_cmds.add_parser(
        "build", help="build (or reuse) every dataset level of an environment, locally")
    which = build.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", choices=sorted(GYM_IDS))
    which.add_argument("--all", action="store_true", help="every locomotion environment")
    build.add_argument("--profile", default="paper", choices=sorted(PROFILES))
    build.add_argument("--rebuild", action="store_true", help="rebuild even if up to date")
    listing = data_cmds.add_parser("list", help="list the local datasets of a profile")
    listing.add_argument("--profile", default="paper", choices=sorted(PROFILES))

    args = parser.parse_args(argv)
    if args.command == "data" and args.data_command in ("build", "list"):
        import torch

        from frozensteer.data import datasets

        torch.set_num_threads(1)
        if args.data_command == "build":
            from frozensteer.data.recipe import build as build_env

            envs = PROFILES[args.profile].envs if args.all else [args.env]
            rows = [row for env in envs
                    for row in build_env(env, args.profile, rebuild=args.rebuild)]
        else:
            ids = datasets.list_local(PROFILES[args.profile])
            rows = [datasets.summary(i, PROFILES[args.profile]) for i in ids]
            print(f"Minari root: {datasets.minari_root(args.profile)}")
        print(format_table(rows))
        return 0
    if args.command == "data" and args.data_command == "train-behaviour":
        import torch

        from frozensteer.data.behaviour import read_curve, train_behaviour

        torch.set_num_threads(args.threads)
        out = train_behaviour(args.env, args.profile, seed=args.seed)
        last = read_curve(out)[-1]
        print(f"{args.env}: {last['step']} steps, last evaluation return "
              f"{last['mean_return']:.1f}; checkpoints and curve in {out}")
    return 0


def format_table(rows: list[dict]) -> str:
    """A plain-text table of dataset summaries."""
    if not rows:
        return "(no datasets)"
    header = f"{'dataset':<38} {'episodes':>9} {'transitions':>12} {'mean return':>12} {'score':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['dataset']:<38} {r['episodes']:>9,} {r['transitions']:>12,} "
                     f"{r['mean_return']:>12.1f} {r['mean_score']:>7.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
