"""Start the live view: check the scenario, make sure Solara's assets are cached, run the server.

The process becomes the Solara server (exec), so stopping it (Ctrl-C, a test killing it) stops
the server with nothing left behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from model.scenario import ScenarioError, bundled, load
from model.viz import assets

APP = Path(__file__).resolve().parent.parent / "app.py"


def server_env(scenario: str) -> dict[str, str]:
    """The server's environment: the scenario, no telemetry, no hook lint on Mesa's own code."""
    return {**os.environ, "STORAGEMARKET_VIZ_SCENARIO": scenario, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "SOLARA_CHECK_HOOKS": "off"}


def serve(scenario: str, port: int, host: str = "127.0.0.1") -> None:
    load(scenario)  # a bad scenario is one line and exit code 2, before any server starts
    name = scenario if scenario in bundled() else str(Path(scenario).resolve())
    try:
        fetched = assets.fill()
    except RuntimeError as exc:
        raise ScenarioError(f"Solara's assets are not cached and cannot be fetched: {exc}") from None
    if fetched:
        print(f"cached Solara assets: {', '.join(fetched)}", file=sys.stderr)
    print(f"storagemarket viz: {name} on http://{host}:{port}/ (Ctrl-C stops it)", file=sys.stderr)
    sys.stderr.flush()
    argv = [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port", str(port),
            "--production", "--no-open"]
    os.execve(sys.executable, argv, server_env(name))
