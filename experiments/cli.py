"""The `storagemarket` command line.

Every user mistake (a bad scenario file, an unknown option, a bad override) ends as one line on
standard error and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from model.errors import ScenarioError  # the model itself is imported by the commands that run it

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) instead of usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError(f"{self.prog}: {message}")


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from model.scenario import bundled, load

    for name, path in bundled().items():
        scenario = load(str(path))
        print(f"{name:<16} {len(scenario.dnos)} DNOs  {scenario.description.splitlines()[0] if scenario.description else ''}")
    return 0


def _cmd_scenario_show(args: argparse.Namespace) -> int:
    from model.scenario import load, to_yaml

    scenario = load(args.scenario)
    if args.explain:
        from model.explain import explain

        print("\n".join(explain(scenario)))
    else:
        print(to_yaml(scenario), end="")
    return 0


def _cmd_scenario_generate(args: argparse.Namespace) -> int:
    from model import synthetic
    from model.scenario import to_yaml, validate

    recipe = synthetic.load_recipe(Path(args.recipe))
    if args.n_dnos is not None:
        recipe = synthetic.with_n_dnos(recipe, args.n_dnos, source=args.recipe)
    data = synthetic.build(recipe, seed=args.seed, error_scale=args.forecast_error_scale,
                           scale_name="--forecast-error-scale")
    # A written scenario is named after its file, so `run my.yaml` writes to out/my, not over the recipe's run.
    name = args.name or (Path(args.out).stem if args.out else None)
    scenario = validate({**data, "name": name or data["name"]}, source=args.recipe + (f" named {name!r}" if name else ""))
    text = to_yaml(scenario)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"--out {args.out}: cannot write ({exc.strerror})") from None
        print(f"wrote {args.out} (scenario {scenario.name!r})")
    else:
        print(text, end="")
    return 0


@contextmanager
def _input_failures(source: str):
    """A run that fails on its input (a DNO that cannot serve its load, faults that stall the chain)
    as one line naming `source`, as for a mistake in the file; run and experiment leave no outputs then."""
    from market.scheduling import SchedulingError  # the model and the chain: only when a run needs them
    from model.market_model import ChainStalled

    try:
        yield
    except (SchedulingError, ChainStalled) as exc:
        raise ScenarioError(f"{source}: " + " ".join(str(exc).split()).rstrip(":")) from None


def _source(args: argparse.Namespace) -> str:
    """The scenario argument with its overrides, as error lines name it."""
    return args.scenario + "".join(f" --set {item}" for item in args.set)


def _cmd_run(args: argparse.Namespace) -> int:
    from model import synthetic
    from model.out_dir import check
    from model.scenario import load

    if args.processes not in (None, 1):  # a run plans on other processes only when asked to
        _start_workers_early(args)
    scenario = load(args.scenario, args.set)
    source = _source(args)
    if args.day_seed is not None:
        scenario = synthetic.with_fresh_actuals(scenario, args.day_seed, source)
    out = Path(args.out) if args.out else Path("out") / scenario.name
    check(out, scenario.name, force=args.force)  # before anything runs: never over another scenario's outputs
    from model import job

    with _input_failures(source), _planner(args) as planner:
        paths = job.run(scenario, args.seed, out, warn=lambda line: print(f"warning: {line}", file=sys.stderr),
                        notes=lambda line: print(f"warning: {line}"), planner=planner)
    print(f"outputs of {scenario.name} (seed {args.seed}) written to {out}/: " + ", ".join(p.name for p in paths))
    print(f"report: {out / 'report.html'}")
    return 0


@contextmanager
def _planner(args: argparse.Namespace):
    """Where a run plans its DNOs' days: here (the default), or local processes or a Dask cluster
    (--processes, --workers, --scheduler), with the same outputs."""
    if not (args.processes or args.workers or args.scheduler) or args.processes == 1:
        yield None
        return
    from batch_runs.executors import executor_for

    with executor_for(args.processes, args.workers, args.scheduler) as executor:
        yield executor.imap_unordered


def _cmd_designs(args: argparse.Namespace) -> int:
    from market.bidding.strategies import STRATEGIES
    from market.delivery import DeliveryParams
    from market.design import DEFAULT_STAGES, SLOTS
    from market.stages import describe_fields, describe_params

    def entries(registry, where) -> None:
        for name, stage in registry.items():
            print(f"  {name:<22} {stage.summary}")
            _print_params(describe_params(stage), where(stage))

    for slot, registry in SLOTS.items():
        print(f"{slot} stages (scenario: design.{slot}.stage; default {DEFAULT_STAGES[slot]})")
        entries(registry, lambda stage: f"the {stage.params_at}: block" if stage.params_at else f"design.{slot}.<name>")
    print("bid strategies of bilateral_rounds (scenario: design.real_time.strategy.name; default risk_attitude)")
    entries(STRATEGIES, lambda stage: "design.real_time.strategy.<name>")
    print("forecast errors settled after delivery, for every real-time stage (scenario: design.delivery)")
    _print_params(describe_fields(DeliveryParams), "design.delivery.<name>")
    return 0


def _print_params(params, where: str) -> None:
    print(f"      parameters ({where}):" if params else "      no parameters")
    for p in params:
        print(f"        {p.name} = {p.default!r}: {p.description}")


# --- ledger (issue 4): `storagemarket ledger verify PATH` -------------------------------------


def _cmd_ledger_verify(args: argparse.Namespace) -> int:
    from ledger.verify import verify_main

    return verify_main(args.path, args.head)


# --- batch runs (issue 6): `storagemarket sweep DESIGN --out DIR`, `analyze DIR`, `compare FILE --out DIR`


def _start_workers_early(args: argparse.Namespace) -> None:
    """When the flags pick local processes, start their fork server now: its imports (seconds)
    overlap this process's own loading and checking of the inputs."""
    if args.workers or args.scheduler or args.processes == 1:
        return
    from batch_runs.executors import ProcessExecutor

    ProcessExecutor.start_server()


def _cmd_sweep(args: argparse.Namespace) -> int:
    from batch_runs import design as designs

    _start_workers_early(args)
    design = designs.load(args.design)
    designs.check(design, args.design)
    report = _run_design(design, args, f"storagemarket sweep {args.design} --out {args.out} --resume")
    if isinstance(report, int):
        return report
    print(
        f"{report.ran} runs done ({report.failed} failed, recorded with their error), {report.resumed} already "
        f"there; results in {report.store.dir / 'results.parquet'}"
    )
    return 0


@contextmanager
def _store_warnings():
    """A damaged file of a results store (moved aside, its runs to run again) as one `warning:` line each."""
    from batch_runs.store import DamagedStoreWarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", DamagedStoreWarning)
        warnings.showwarning = show
        yield


def _run_design(design, args: argparse.Namespace, again: str):
    """Run a design into --out on the executor the flags ask for: the sweep's report, or the exit
    code when it stopped (`again` is the command that finishes it)."""
    from batch_runs.executors import ExecutorLost, executor_for
    from batch_runs.store import check_out
    from batch_runs.sweep import sweep

    check_out(args.out)  # before the announcement; the store checks it again as it begins (for the API)
    executor = executor_for(processes=args.processes, workers=args.workers, scheduler=args.scheduler)
    print(f"{design.name}: {len(design.runs())} runs {executor.describe()} -> {args.out}", file=sys.stderr)
    try:
        with _store_warnings():
            return sweep(design, args.out, executor, resume=args.resume)
    except KeyboardInterrupt:
        print(f"interrupted: finished runs are saved in {args.out}; `{again}` runs the rest", file=sys.stderr)
        return 130
    except ExecutorLost as exc:
        print(f"error: {exc}; finished runs are saved in {args.out}; `{again}` runs the rest", file=sys.stderr)
        return 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from batch_runs import comparison
    from batch_runs.compare_report import write_report

    _start_workers_early(args)
    design = comparison.load(args.comparison, seeds=args.seeds)
    comparison.check(design, args.comparison)
    seeds = f" --seeds {args.seeds}" if args.seeds else ""
    report = _run_design(design, args, f"storagemarket compare {args.comparison} --out {args.out}{seeds} --resume")
    if isinstance(report, int):
        return report
    with _store_warnings():
        page = write_report(args.out)
    print(f"{report.ran} runs done ({report.failed} failed), {report.resumed} already there; wrote {page.html}, "
          f"{page.csv.name}, {len(page.figures)} figures; runs in {report.store.dir / 'results.parquet'}")
    for note in page.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from batch_runs.report import analyze

    with _store_warnings():
        report = analyze(args.dir, measures=args.measure, heatmaps=[tuple(p) for p in args.heatmap or []])
    written = [report.html, report.summary_csv] + ([report.sobol_csv] if report.sobol_csv else [])
    print("wrote " + ", ".join(str(p) for p in written))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _seed(text: str) -> int:
    """A seed as model.seeds checks it for the API too; only digits read as a number (no sign, no point)."""
    from model.seeds import seed_problem

    value = int(text) if text.isdigit() else text
    problem = seed_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def _port(text: str) -> int:
    """A TCP port the server can listen on: 1 to 65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return int(text)


def _head(text: str) -> str:
    """A tip hash, or a prefix of one, as ledger.verify takes it."""
    from ledger.verify import head_problem

    problem = head_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


_SET_HELP = ("override a scenario parameter; repeat for several, e.g. --set mechanism.seller_concession=0.1 "
             "--set dnos.DN2.pv_mw=30")
_RUN_SEED_HELP = ("run seed (default 0): draws the chain's keys, network topology and latencies and, when days > 1, "
                  "the actuals of the days after the first; the first day's profiles are the scenario file's")


def _add_run_options(p: argparse.ArgumentParser, also: str = "") -> None:
    """--out, --resume and where the runs go, as sweep and compare take them."""
    p.add_argument("--out", required=True, help=f"output directory (design.yaml, results.parquet{', ' + also if also else ''})")
    p.add_argument("--resume", action="store_true", help="run only what DIR lacks of the same design")
    _add_where(p, "local processes (default: all cores; 1 runs in this process)")


def _add_where(p: argparse.ArgumentParser, processes_help: str) -> None:
    """--processes, --workers, --scheduler: where runs (or a run's planning) execute."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--processes", type=_positive, default=None, metavar="N", help=processes_help)
    where.add_argument("--workers", type=_positive, default=None, metavar="N", help="start a local Dask cluster of N workers")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on an existing Dask cluster, e.g. tcp://host:8786")


def _add_batch_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a sweep design (grid, lhs or sobol) into a Parquet result store")
    p.add_argument("design", help="sweep design YAML (see experiments/sweeps/)")
    _add_run_options(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("compare", help="run named market designs on the same days and compare them, paired by day")
    bundled = ", ".join(sorted(f.stem for f in (Path(__file__).parent / "comparisons").glob("*.yaml")))
    p.add_argument("comparison", help=f"comparison YAML, or a bundled one's name (experiments/comparisons/: {bundled})")
    p.add_argument("--seeds", type=_positive, default=None, metavar="N", help="days 0..N-1 instead of the file's seeds")
    _add_run_options(p, also="compare.html, compare.csv")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("analyze", help="write analysis.html and summary.csv for a sweep's output directory")
    p.add_argument("dir", help="a sweep's output directory")
    p.add_argument("--measure", action="append", default=None, metavar="NAME", help="measure to show (repeatable; default: picked from the runs)")
    p.add_argument("--heatmap", action="append", nargs=2, default=None, metavar=("X", "Y"), help="parameter pair for heatmaps (repeatable)")
    p.set_defaults(func=_cmd_analyze)


# --- paper experiment (issue 5): `storagemarket experiment paper [--seed N] [--out DIR]` ----------


def _cmd_experiment_paper(args: argparse.Namespace) -> int:
    from experiments import paper
    from model.scenario import load

    scenario = load(args.scenario, args.set)
    executor = None
    if args.days:
        from batch_runs.executors import executor_for

        executor = executor_for(processes=args.processes, workers=args.workers, scheduler=args.scheduler)
    with _input_failures(_source(args)):
        paths, headline = paper.run(scenario, args.seed, Path(args.out), args.days, executor)
    print(f"paper experiment (S0-S3) on {scenario.name} (seed {args.seed}) written to {args.out}/: "
          + ", ".join(p.name for p in paths))
    print("\n".join(headline))
    return 0


def _add_experiment_commands(sub: argparse._SubParsersAction) -> None:
    experiment = sub.add_parser("experiment", help="run a named experiment")
    experiment_sub = experiment.add_subparsers(dest="experiment", required=True, parser_class=_Parser)
    p = experiment_sub.add_parser("paper", help="one day under S0, S1, S2 and S3 compared as in the paper's Tables 2-4")
    p.add_argument("--scenario", default="paper-4dn", help="bundled name or YAML path (default paper-4dn)")
    p.add_argument("--seed", type=_seed, default=0, help=_RUN_SEED_HELP)
    p.add_argument("--out", default="out/paper-experiment", help="output directory (default out/paper-experiment)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    p.add_argument("--days", type=_positive, default=None, metavar="N",
                   help="also run S0-S3 on N fresh days of the paper-4dn recipe (into OUT/days-N, resumable) and show "
                        "each measure's interval over the days")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--processes", type=_positive, default=None, metavar="N", help="for --days: local processes")
    where.add_argument("--workers", type=_positive, default=None, metavar="N", help="for --days: a local Dask cluster")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help="for --days: an existing Dask cluster")
    p.set_defaults(func=_cmd_experiment_paper)


# --- live view (issue 7): `storagemarket viz [SCENARIO] [--port P]` -------------------------------


def _cmd_viz(args: argparse.Namespace) -> int:
    from model.viz.serve import serve

    serve(args.scenario, args.port, args.host)  # this process becomes the server
    return 0


def _add_viz_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="watch the market and the chain hour by hour in the browser (Solara)")
    p.add_argument("scenario", nargs="?", default="paper-4dn", help="bundled name or YAML path (default paper-4dn)")
    p.add_argument("--port", type=_port, default=8765, help="port on localhost (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.set_defaults(func=_cmd_viz)


# ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storagemarket", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"storagemarket {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("scenarios", help="list the bundled scenarios")
    p.set_defaults(func=_cmd_scenarios)

    scenario = sub.add_parser("scenario", help="inspect or generate scenarios")
    scenario_sub = scenario.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = scenario_sub.add_parser("show", help="validate a scenario and print it in full, defaults included")
    p.add_argument("scenario", help="bundled name or YAML path")
    p.add_argument("--explain", action="store_true",
                   help="each field with its value, meaning, unit and source (the section of docs/rules.md)")
    p.set_defaults(func=_cmd_scenario_show)
    p = scenario_sub.add_parser("generate", help="draw a scenario's profiles from a recipe")
    p.add_argument("recipe", help="recipe YAML path (see experiments/recipes/)")
    p.add_argument("--seed", type=_seed, default=None,
                   help="generator seed (default: the recipe's `seed`): draws the day's weather, load and forecast errors")
    p.add_argument("--forecast-error-scale", type=float, default=None, help="multiply all forecast errors (0 to 10)")
    p.add_argument("--n-dnos", type=_positive, default=None, metavar="N",
                   help="N DNOs named DN1..DNN, cycling the recipe's DNOs (default: the recipe's own)")
    p.add_argument("--name", default=None,
                   help="the scenario's name (default: the --out file's name without .yaml, else the recipe's)")
    p.add_argument("--out", default=None, help="write the scenario here instead of standard output")
    p.set_defaults(func=_cmd_scenario_generate)

    p = sub.add_parser("run", help="run a scenario and write its outputs")
    p.add_argument("scenario", nargs="?", default="paper-4dn", help="bundled name or YAML path (default paper-4dn)")
    p.add_argument("--seed", type=_seed, default=0, help=_RUN_SEED_HELP + " (see --day-seed)")
    p.add_argument("--day-seed", type=_seed, default=None, metavar="N",
                   help="redraw the first day's actual PV, wind and load around the file's forecasts from seed N "
                   "(the error model of the days after the first); forecasts, assets and rules stay the file's")
    p.add_argument("--out", default=None, help="output directory (default out/NAME, NAME the scenario's `name`)")
    p.add_argument("--force", action="store_true",
                   help="write to --out even if it holds another scenario's outputs or files no run writes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    _add_where(p, "plan the DNOs' days in N local processes (default: in this process; the outputs are the same "
               "bytes wherever the plans are made, and many DNOs plan faster spread out)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("designs", help="list the market-design stages of each slot with their parameters")
    p.set_defaults(func=_cmd_designs)

    # --- ledger (issue 4) ---
    ledger = sub.add_parser("ledger", help="inspect a run's chain")
    ledger_sub = ledger.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = ledger_sub.add_parser("verify", help="replay a ledger store from genesis; exit 1 naming the first bad height")
    p.add_argument("path", help="ledger SQLite file of a run (e.g. out/paper-4dn/ledger.sqlite)")
    p.add_argument("--head", type=_head, default=None, metavar="HASH",
                   help="the tip hash the chain must end at (summary.json: chain.tip_hash; a prefix of 16+ hex digits)")
    p.set_defaults(func=_cmd_ledger_verify)

    _add_batch_commands(sub)  # batch runs (issue 6)
    _add_experiment_commands(sub)  # paper experiment (issue 5)
    _add_viz_command(sub)  # live view (issue 7)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storagemarket")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
