"""Options refused by the command line itself: one line naming the option, exit 2, no traceback,
before anything starts (a server, a scenario drawn from a recipe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.cli import main

RECIPE = str(Path(__file__).resolve().parent.parent / "experiments" / "recipes" / "paper-4dn.yaml")


def _one_error_line(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("error: ")
    return captured.err


@pytest.mark.parametrize("port", ["-1", "0", "65536", "99999", "http"])
def test_a_port_out_of_range_is_refused_before_the_server(port, capsys, monkeypatch):
    monkeypatch.setattr("model.viz.serve.serve", lambda *a, **k: pytest.fail("the server started"))
    err = _one_error_line(["viz", "--port", port], capsys)
    assert f"argument --port: expected a port from 1 to 65535, got '{port}'" in err


def test_a_port_in_range_reaches_the_server(monkeypatch):
    started = []
    monkeypatch.setattr("model.viz.serve.serve", lambda *args: started.append(args))
    assert main(["viz", "--port", "65535"]) == 0
    assert started == [("paper-4dn", 65535, "127.0.0.1")]


@pytest.mark.parametrize("scale, why", [("nan", "must be a finite number"), ("inf", "must be a finite number"),
                                        ("-1", "greater than or equal to 0"), ("11", "less than or equal to 10")])
def test_a_bad_forecast_error_scale_names_the_option(scale, why, capsys):
    err = _one_error_line(["scenario", "generate", RECIPE, "--forecast-error-scale", scale], capsys)
    assert err.startswith("error: --forecast-error-scale: ") and why in err
    assert "scale: scale" not in err and "forecast-error scale:" not in err
