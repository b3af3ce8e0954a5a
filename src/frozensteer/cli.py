"""The ``frozensteer`` command."""

from __future__ import annotations

import argparse
import sys

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

    args = parser.parse_args(argv)
    if args.command == "data" and args.data_command == "train-behaviour":
        import torch

        from frozensteer.data.behaviour import read_curve, train_behaviour

        torch.set_num_threads(args.threads)
        out = train_behaviour(args.env, args.profile, seed=args.seed)
        last = read_curve(out)[-1]
        print(f"{args.env}: {last['step']} steps, last evaluation return "
              f"{last['mean_return']:.1f}; checkpoints and curve in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
