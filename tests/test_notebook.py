"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, as a reader would run it."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


def test_the_quickstart_notebook_runs(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "kept without outputs"
    # a cell that raises fails the test (nbclient's CellExecutionError, with the cell and traceback)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = "\n".join(output.get("data", {}).get("text/plain", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.outputs)
    assert "gain_rmb" in shown and "DN4" in shown and "auction" in shown
    assert (tmp_path / "out" / "quickstart-compare" / "compare.html").exists(), "written where the notebook runs"
