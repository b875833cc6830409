"""Repository hygiene: README links resolve, every install path uses the same pinned versions."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0].lower() for d in declared}
    assert names - set(_pins()) == set()


#: Import names whose distribution is called otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "skimage": "scikit-image", "PIL": "pillow", "yaml": "pyyaml",
                 "cv2": "opencv-python", "bs4": "beautifulsoup4", "dateutil": "python-dateutil",
                 "google.protobuf": "protobuf", "absl": "absl-py"}
#: Distributions that come with a declared one and may be imported without their own line (abseil is a
#: dependency of TensorFlow, which configures its logging through it).
PROVIDED_BY = {"absl-py": "tensorflow"}


def _top_level_imports(folder: Path) -> dict[str, set[str]]:
    """Top-level module name -> the files under ``folder`` that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in project["dependencies"]}


def test_every_third_party_import_of_the_package_is_a_declared_dependency():
    declared = _declared()
    missing = {}
    for module, files in _top_level_imports(ROOT / "mnistlib").items():
        if module in sys.stdlib_module_names or module == "mnistlib" or module == "__future__":
            continue
        dist = DISTRIBUTIONS.get(module, module).lower().replace("_", "-")
        if dist in declared or PROVIDED_BY.get(dist) in declared:
            continue
        missing[dist] = sorted(files)
    assert not missing, f"imported by mnistlib but not in pyproject.toml's dependencies: {missing}"


def test_the_import_scan_sees_the_known_dependencies():
    """The scan above finds what the package is known to import (so it cannot pass by finding nothing)."""
    imports = _top_level_imports(ROOT / "mnistlib")
    assert {"numpy", "sklearn", "PIL", "skimage", "tensorflow", "os", "mnistlib"} <= set(imports)
    assert "mnistlib/imageprep.py" in imports["PIL"]
