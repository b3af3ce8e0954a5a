"""The ``frozensteer`` command."""

from __future__ import annotations

import argparse
import math
import sys

from frozensteer.data.envs import BEHAVIOUR_IDS
from frozensteer.profiles import PROFILES
from frozensteer.variants import STUDIES


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value:g}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if hasattr(args, "profile"):  # resolved once: every function below gets the Profile
        args.profile = PROFILES[args.profile]
    import torch

    torch.set_num_threads(args.threads)  # small networks: one thread per process is fastest
    try:
        args.handler(args)
    except (FileNotFoundError, RuntimeError, ValueError, ConnectionError, ImportError) as err:
        print(f"frozensteer: error: {err}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frozensteer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{data,train,run,reproduce}")
    data = commands.add_parser("data", help="behaviour policies and datasets")
    data_cmds = data.add_subparsers(dest="data_command", required=True,
                                    metavar="{train-behaviour,build,list}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads per process (default 1: fastest for these small "
                             "networks)")
    common.add_argument("--profile", default="paper", choices=sorted(PROFILES),
                        help="the sizes and budgets to use: smoke, quick or paper "
                             "(default paper)")

    behaviour = data_cmds.add_parser(
        "train-behaviour", parents=[common],
        help="train (or resume) the SAC behaviour policy of an environment")
    behaviour.add_argument("--env", required=True, choices=sorted(BEHAVIOUR_IDS),
                           help="a locomotion environment, or antmaze (its goal-reaching "
                                "controller); required")
    behaviour.add_argument("--seed", type=int, default=0,
                           help="seed of the SAC run (default 0, the committed one)")
    behaviour.set_defaults(handler=_train_behaviour)

    build = data_cmds.add_parser(
        "build", parents=[common],
        help="build (or reuse) every dataset level of an environment, locally")
    which = build.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", choices=sorted(BEHAVIOUR_IDS),
                       help="a locomotion environment, or antmaze (umaze and umaze-diverse)")
    which.add_argument("--all", action="store_true",
                       help="every locomotion environment of the profile")
    build.add_argument("--rebuild", action="store_true",
                       help="rebuild even if up to date (default: reuse what is intact)")
    build.set_defaults(handler=_data_build)

    listing = data_cmds.add_parser("list", parents=[common],
                                   help="list the local datasets of a profile")
    listing.add_argument("--verify", action="store_true",
                         help="check every dataset's data files against the digest recorded "
                              "when it was built (default: off, a quick listing)")
    listing.set_defaults(handler=_data_list)

    train = commands.add_parser("train", help="frozen actors, goal-conditioned priors and "
                                               "the actors' IQL critics")
    train_cmds = train.add_subparsers(dest="train_command", required=True,
                                      metavar="{actor,prior,critic,successor}")
    for kind in ("actor", "prior", "critic", "successor"):
        cmd = train_cmds.add_parser(kind, parents=[common], help={
            "critic": "the IQL critics of a trained actor: the ones its training kept, or "
                      "trained again for an actor trained before critics were kept",
            "successor": "the SF/GPI baseline's successor features of an actor, its clean "
                         "prior and their PoE",
            "actor": "train (or reuse) a frozen actor",
            "prior": "train (or reuse) a goal-conditioned prior"}[kind])
        cmd.add_argument("--env", required=True, choices=sorted(BEHAVIOUR_IDS),
                         help="the environment; required")
        cmd.add_argument("--dataset", default="medium",
                         help="the dataset (default medium; for antmaze: umaze or "
                              "umaze-diverse)")
        cmd.add_argument("--seed", type=int, default=0,
                         help="training seed (default 0, the plain file name; seed s > 0 "
                              "writes <name>-seed<s>.pt)")
        if kind == "prior":
            cmd.add_argument("--quality", default="clean", choices=["clean", "degraded"],
                             help="clean (all the data) or degraded (a few episodes, a few "
                                  "steps) (default clean)")
            cmd.add_argument("--degraded-fraction", type=fraction, default=None,
                             help="with --quality degraded: the fraction of the episodes and "
                                  "of the steps it trains on (default: the profile's, 0.05 at "
                                  "paper); another fraction writes <name>-degraded-e<f>-s<f>.pt")
        elif kind != "successor":
            cmd.add_argument("--device", default="cpu",
                             help="torch device of IQL training, e.g. cuda (default cpu); a "
                                  "run interrupted on one device resumes on another")
        cmd.set_defaults(handler=_train_policy, kind=kind)

    run = commands.add_parser("run", parents=[common],
                              help="run a study's grid (stored conditions are reused)")
    run.add_argument("--study", required=True,
                     choices=list(STUDIES),
                     help="which study's grid to run, or a robustness variant of one (e.g. "
                          "main-goal-p50: the main study with one choice changed); required")
    run.add_argument("--mode", default="deterministic", choices=["deterministic", "stochastic"],
                     help="execute the composed mean, or a sample of the composed Gaussian "
                          "(default deterministic)")
    run.add_argument("--executor", default="local", choices=["local", "ray"],
                     help="run sub-cells here, or as Ray tasks (default local)")
    run.add_argument("--address", default=None,
                     help="Ray cluster address, with --executor ray only (default: start a "
                          "local Ray instance)")
    run.add_argument("--workers", type=positive_int, default=2,
                     help="processes per sub-cell with the local executor (default 2)")
    run.add_argument("--env", action="append", dest="envs", metavar="ENV",
                     help="run only this environment's sub-cells (repeatable; default all); "
                          "the study table is written only by a run over the whole grid")
    run.add_argument("--dataset", action="append", dest="datasets", metavar="DATASET",
                     help="run only this dataset's sub-cells (repeatable; default "
                          "all), e.g. medium-expert; combines with --env")
    run.set_defaults(handler=_run_study)

    reproduce = commands.add_parser(
        "reproduce", parents=[common],
        help="everything a profile's studies need, from nothing: datasets, actors, priors, "
             "critics, every study in every mode, then the book (what is stored is reused)")
    reproduce.add_argument("--study", action="append", dest="studies", metavar="STUDY",
                           choices=list(STUDIES),
                           help="reproduce only this study and what it needs (repeatable; "
                                "default every study and robustness variant)")
    reproduce.add_argument("--executor", default="local", choices=["local", "ray"],
                           help="run here, or every training job and sub-cell as a Ray task "
                                "(default local)")
    reproduce.add_argument("--address", default=None,
                           help="Ray cluster address, with --executor ray only (default: "
                                "start a local Ray instance)")
    reproduce.add_argument("--workers", type=positive_int, default=2,
                           help="processes with the local executor: training jobs at once, and "
                                "per sub-cell (default 2)")
    reproduce.add_argument("--plan", action="store_true",
                           help="print the plan (each step, whether it is stored, its "
                                "estimated time) and stop")
    reproduce.add_argument("--no-book", action="store_true",
                           help="stop after the studies (default: build the book too)")
    reproduce.set_defaults(handler=_reproduce)
    return parser


def _train_behaviour(args) -> None:
    from frozensteer.data.behaviour import read_curve, train_behaviour

    out = train_behaviour(args.env, args.profile, seed=args.seed)
    last = read_curve(out)[-1]
    print(f"{args.env}: {last['step']:,} steps, last evaluation return "
          f"{last['mean_return']:.1f}; checkpoints and curve in {out}")


def _train_policy(args) -> None:
    from frozensteer.agents import training

    if args.kind == "successor":
        path = training.train_successor(args.env, args.dataset, args.profile, seed=args.seed)
        print(f"successor features {path}")
    elif args.kind == "critic":
        path = training.train_critics(args.env, args.dataset, args.profile, seed=args.seed,
                                      device=args.device)
        print(f"critics {path}; their report: {training.critic_report_path(path)}")
    elif args.kind == "actor":
        path, row = training.train_scored_actor(args.env, args.dataset, args.profile,
                                                seed=args.seed, device=args.device)
        corl = float(row["corl_iql_d4rl"])
        print(f"actor {path}: normalised score {row['score_mean']:.1f} (+- "
              f"{row['score_std']:.1f}) over {row['episodes']} episodes; its dataset's mean "
              f"{row['dataset_score_mean']:.1f}"
              + ("" if math.isnan(corl) else f"; CORL's IQL on D4RL data: {corl:.1f}"))
    else:
        profile = training.with_degraded_fraction(args.profile, args.degraded_fraction)
        path = training.train_prior(args.env, args.dataset, args.quality, profile,
                                    seed=args.seed)
        print(f"prior ({args.quality}) {path}")
    print(f"manifest: {training.write_manifest(args.profile)}")


def _run_study(args) -> None:
    from frozensteer import experiments

    table, path = experiments.run_and_record(
        args.study, args.profile, mode=args.mode, executor=args.executor,
        address=args.address, workers=args.workers, envs=args.envs, datasets=args.datasets,
        command="frozensteer " + " ".join(args.argv))
    part = ", ".join((args.envs or []) + (args.datasets or []))
    print(f"{len(table):,} episodes" + (f" in {path}" if path else
                                         f" of {part}: sub-cells cached"))
    print(experiments.summary(table, args.profile))


def _reproduce(args) -> None:
    from frozensteer import paths, reproduce
    from frozensteer.data.datasets import minari_root

    if args.address is not None and args.executor != "ray":
        raise ValueError(f"--address {args.address} needs --executor ray")
    steps = reproduce.plan(args.profile, args.studies, book=not args.no_book)
    print(f"plan at profile {args.profile.name}: {len(steps)} steps")
    print(reproduce.format_rows(reproduce.describe(steps, args.profile)), flush=True)
    if args.plan:
        return
    rows = reproduce.execute(steps, args.profile, executor=args.executor,
                             address=args.address, workers=args.workers)
    print(reproduce.format_rows(rows, time_key="wall_s"))
    name = args.profile.name
    print(f"datasets: {minari_root(args.profile)}; policies: "
          f"{paths.artifacts() / 'policies' / name}; result tables: {paths.results() / name}"
          + ("" if args.no_book else f"; book: {paths.home() / '_build' / 'html' / 'index.html'}"))


def _data_build(args) -> None:
    from frozensteer.families import family

    envs = args.profile.envs if args.all else [args.env]
    rows = [row for env in envs
            for row in family(env).build_data(env, args.profile, rebuild=args.rebuild)]
    print(format_table(rows))


def _data_list(args) -> None:
    from frozensteer.data import datasets

    print(f"Minari root: {datasets.minari_root(args.profile)}")
    rows, broken = [], []
    for dataset_id in datasets.list_local(args.profile):
        try:
            rows.append(datasets.summary(dataset_id, args.profile, verify=args.verify))
        except (RuntimeError, ValueError) as err:  # one damaged dataset hides no other
            broken.append(f"{dataset_id}: {err}")
    print(format_table(rows))
    for line in broken:
        print(f"DAMAGED {line}")
    if args.verify:
        unrecorded = [r["dataset"] for r in rows if not r["digest_recorded"]]
        print(f"{len(rows) - len(unrecorded)} datasets match their recorded digests"
              + (f"; {len(unrecorded)} have none yet (built before digests were recorded: "
                 "`frozensteer data build` records one)" if unrecorded else ""))
    if broken:
        raise RuntimeError(f"{len(broken)} damaged dataset(s), listed above")


def format_table(rows: list[dict]) -> str:
    """A plain-text table of dataset summaries."""
    if not rows:
        return "(no datasets)"
    header = (f"{'dataset':<38} {'episodes':>9} {'transitions':>12} {'mean return':>12} "
              f"{'score':>7}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['dataset']:<38} {r['episodes']:>9,} {r['transitions']:>12,} "
                     f"{r['mean_return']:>12.1f} {r['mean_score']:>7.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
