"""The committed notebooks as a course: each a full lesson, clean outputs, nothing volatile committed.

nbval (``make nbval``) checks that the notebooks run; these tests check what a teacher reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SECTIONS = ("Recap", "Questionnaire", "Exercises", "Solutions", "References")
# absolute paths of a machine: a user's home, the temporary folder, a checkout under /work or /root
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:home|root|tmp|work|Users|private/var)/[\w.-]+")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            for kind, value in out.get("data", {}).items():
                if kind.startswith("text/"):
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def test_the_series_is_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_is_a_whole_lesson(path):
    nb = _read(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    title = nb.cells[0].source.splitlines()[0]
    assert title.startswith(f"# {path.name[:2]} · "), title
    assert "Objectives" in nb.cells[0].source and "Prerequisites" in nb.cells[0].source
    headings = re.findall(r"^## (\w+)", markdown, flags=re.M)
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"{path.name} lacks the section(s) {missing}"
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS), "recap, questionnaire, exercises, solutions, refs"
    words = len(re.findall(r"[A-Za-z][A-Za-z'-]*", markdown))
    assert words >= 1500, f"{path.name} has {words} words of prose"
    assert "LeCun" in markdown.split("## References")[-1]
    # every exercise has an executed solution: the Solutions section holds code cells
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Solutions" in c.source)
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## References" in c.source)
    assert any(c.cell_type == "code" for c in nb.cells[start:end]), f"{path.name}: no solution code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_are_clean(path):
    nb = _read(path)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), "cell ids must exist and be unique"
    assert "widgets" not in nb.metadata, "saved widget state changes at every run"
    assert not [c.id for c in nb.cells if "execution" in c.metadata], "execution timestamps are committed"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code if c.outputs), "nbval needs an execution count on cells with outputs"
    text = _outputs_text(nb)
    assert not MACHINE_PATH.findall(text), f"{path.name} prints machine paths: {MACHINE_PATH.findall(text)[:3]}"
    streams = [o for c in code for o in c.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    noisy = [o.text for o in streams if re.search(r"warning|tensorflow|oneDNN|cuda", o.text, flags=re.I)]
    assert not noisy, f"{path.name} shows log noise on stderr: {noisy[:1]}"
