"""Live view: wall time per step of paper-4dn, the model's step and the page's redraw apart.

The redraw is what Solara does after Mesa's Step button (every component, figures to PNG); the
browser's own time to show it is measured by tests/test_viz_browser.py (out/test-artifacts/).
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("SOLARA_CHECK_HOOKS", "off")  # no lint of Mesa's own hooks in the output

import solara  # noqa: E402
from mesa.visualization.utils import force_update  # noqa: E402

from model.viz.components import VIEWS  # noqa: E402
from model.viz.live import LiveModel  # noqa: E402


def main() -> None:
    model = LiveModel()

    @solara.component
    def Page():
        for view in VIEWS:
            view(model)

    _, rc = solara.render(Page(), handle_error=False)
    steps, redraws = [], []
    while model.running:
        start = time.perf_counter()
        model.step()
        middle = time.perf_counter()
        force_update()
        steps.append(middle - start)
        redraws.append(time.perf_counter() - middle)
    rc.close()
    total = [s + r for s, r in zip(steps, redraws)]
    print(f"paper-4dn, {len(total)} steps: step + redraw median {statistics.median(total) * 1000:.0f} ms, "
          f"max {max(total) * 1000:.0f} ms (model step median {statistics.median(steps) * 1000:.0f} ms, "
          f"redraw median {statistics.median(redraws) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
