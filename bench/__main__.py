"""python -m bench generate|run ... (see --help)."""

import argparse
import os
import secrets
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="create a synthetic data set (PostgreSQL)")
    gen.add_argument("--talks", type=int, default=50)
    gen.add_argument("--issues", type=int, default=20, help="issues per talk")
    gen.add_argument("--parties", type=int, default=8, help="principals per talk")
    gen.add_argument("--revisions", type=int, default=100_000, help="position revisions in all")
    gen.add_argument(
        "--hot-share",
        type=float,
        default=0.05,
        help="share of the revisions given to one position (the deep-history benchmark's)",
    )
    gen.add_argument("--seed", type=int, default=1)

    run = sub.add_parser("run", help="run the scenarios and print a table")
    run.add_argument("--quick", action="store_true", help="fewer samples, for a smoke run")
    run.add_argument("--seed", type=int, default=1, help="the generated data set to use")
    run.add_argument("--port", type=int, default=8765, help="loopback port for gunicorn")
    run.add_argument(
        "--results", type=Path, default=None, help="where to write the results (bench/results)"
    )
    run.add_argument(
        "--only", action="append", default=[], help="run only these scenarios (repeatable)"
    )

    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Settings need a key when DEBUG is off; the processes a run starts inherit this one, so
    # a session made here is valid there.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if args.command == "run" and os.environ.get("DEBUG", "").lower() in {"1", "true", "yes", "on"}:
        print("DEBUG is on: the figures would not be those of production.", file=sys.stderr)
        return 2
    if args.command == "run":
        # The run serves plain HTTP on loopback; this process and those it starts agree.
        os.environ["HTTPS"] = "false"
        os.environ["STATIC_MANIFEST"] = "false"
    import django

    django.setup()
    if args.command == "generate":
        from .generate import generate

        generate(
            talks=args.talks,
            issues=args.issues,
            parties=args.parties,
            revisions=args.revisions,
            hot_share=args.hot_share,
            seed=args.seed,
        )
        return 0
    from .run import run as run_scenarios

    return run_scenarios(
        quick=args.quick, seed=args.seed, port=args.port, only=args.only, results_dir=args.results
    )


if __name__ == "__main__":
    sys.exit(main())
