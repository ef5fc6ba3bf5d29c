"""The `storagemarket` command line.

Every user mistake (a bad scenario file, an unknown option, a bad override) ends as one line on
standard error and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model import job, synthetic
from model.scenario import ScenarioError, bundled, load, to_yaml, validate

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) instead of usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError(f"{self.prog}: {message}")


def _cmd_scenarios(args: argparse.Namespace) -> int:
    for name, path in bundled().items():
        scenario = load(str(path))
        print(f"{name:<16} {len(scenario.dnos)} DNOs  {scenario.description.splitlines()[0] if scenario.description else ''}")
    return 0


def _cmd_scenario_show(args: argparse.Namespace) -> int:
    print(to_yaml(load(args.scenario)), end="")
    return 0


def _cmd_scenario_generate(args: argparse.Namespace) -> int:
    recipe = synthetic.load_recipe(Path(args.recipe))
    data = synthetic.build(recipe, seed=args.seed, error_scale=args.forecast_error_scale)
    scenario = validate(data, source=args.recipe)
    text = to_yaml(scenario)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args.scenario, args.set)
    out = Path(args.out) if args.out else Path("out") / scenario.name
    paths = job.run(scenario, args.seed, out)
    print(f"outputs of {scenario.name} (seed {args.seed}) written to {out}/: " + ", ".join(p.name for p in paths))
    return 0


# --- ledger (issue 4): `storagemarket ledger verify PATH` -------------------------------------


def _cmd_ledger_verify(args: argparse.Namespace) -> int:
    from ledger.verify import verify_main

    return verify_main(args.path)


# ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storagemarket", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("scenarios", help="list the bundled scenarios")
    p.set_defaults(func=_cmd_scenarios)

    scenario = sub.add_parser("scenario", help="inspect or generate scenarios")
    scenario_sub = scenario.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = scenario_sub.add_parser("show", help="validate a scenario and print it in full, defaults included")
    p.add_argument("scenario", help="bundled name or YAML path")
    p.set_defaults(func=_cmd_scenario_show)
    p = scenario_sub.add_parser("generate", help="draw a scenario's profiles from a recipe")
    p.add_argument("recipe", help="recipe YAML path (see experiments/recipes/)")
    p.add_argument("--seed", type=int, default=None, help="generator seed (default: the recipe's)")
    p.add_argument("--forecast-error-scale", type=float, default=None, help="multiply all forecast errors")
    p.add_argument("--out", default=None, help="write the scenario here instead of standard output")
    p.set_defaults(func=_cmd_scenario_generate)

    p = sub.add_parser("run", help="run a scenario and write its outputs")
    p.add_argument("scenario", nargs="?", default="paper-4dn", help="bundled name or YAML path")
    p.add_argument("--seed", type=int, default=0, help="run seed")
    p.add_argument("--out", default=None, help="output directory (default out/SCENARIO)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a parameter, e.g. mechanism.seller_concession=0.1")
    p.set_defaults(func=_cmd_run)

    # --- ledger (issue 4) ---
    ledger = sub.add_parser("ledger", help="inspect a run's chain")
    ledger_sub = ledger.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = ledger_sub.add_parser("verify", help="replay a ledger store from genesis; exit 1 naming the first bad height")
    p.add_argument("path", help="ledger SQLite file of a run (e.g. out/paper-4dn/ledger.sqlite)")
    p.set_defaults(func=_cmd_ledger_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
