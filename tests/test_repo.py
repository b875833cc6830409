"""Repository hygiene: README links resolve, every install path uses the same pinned versions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


def test_every_relative_link_and_image_in_the_readme_exists():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text) + re.findall(r'<img[^>]+src="([^"]+)"', text)
    relative = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    missing = [t for t in relative if t and not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_environment_yml_pins_match_the_constraints():
    pins = _pins()
    text = (ROOT / "environment.yml").read_text()
    conda = dict(re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)=([0-9][^\s#]*)\s*$", text, flags=re.M))
    pip = dict(re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)==([0-9][^\s#]*)\s*$", text, flags=re.M))
    assert "-c requirements/constraints.txt" in text and "-e .[dev]" in text
    checked = {**conda, **pip}
    checked.pop("python", None)
    assert {"tensorflow", "keras", "numpy", "scikit-learn", "seaborn", "nbval"} <= set(checked)
    for name, version in checked.items():
        assert pins.get(name.lower()) == version, f"environment.yml pins {name}={version}, constraints {pins.get(name)}"


def test_constraints_cover_every_declared_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0].lower() for d in declared}
    assert names - set(_pins()) == set()
