"""The set-up files agree with each other: pyproject.toml's ranges, constraints.txt's exact versions, and the
environment.yml and binder/ files that name them again."""

import os
import re
import subprocess

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lines: list[str]) -> dict[str, str]:
    """Name -> exact version of each ``name==version`` line (comments, options and local paths skipped)."""
    reqs = (Requirement(line.split("#")[0]) for line in lines if re.match(r"^[A-Za-z0-9]", line) and "==" in line)
    return {canonicalize_name(r.name): str(r.specifier).removeprefix("==") for r in reqs}


CONSTRAINTS = _pins((ROOT / "constraints.txt").read_text().splitlines())


def _environment_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_pyproject_leaves_the_learner_s_torch_alone():
    """Ranges, not pins, for torch and torchvision: installing beside Colab's torch plans no torch."""
    for requirement in map(Requirement, PROJECT["dependencies"]):
        if requirement.name in ("torch", "torchvision"):
            assert "==" not in str(requirement.specifier) and requirement.specifier, requirement
    assert "jupyterlab" not in {Requirement(r).name for r in PROJECT["dependencies"]}  # hosted Jupyters bring theirs
    assert Requirement(next(r for r in PROJECT["dependencies"] if r.startswith("ipywidgets"))).specifier.contains("8.0")


def test_the_constraints_pin_every_requirement_within_its_range():
    extras = PROJECT["optional-dependencies"]
    for line in PROJECT["dependencies"] + extras["lab"] + extras["test"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in CONSTRAINTS, f"constraints.txt does not pin {name}"
        assert requirement.specifier.contains(CONSTRAINTS[name], prereleases=True), (line, CONSTRAINTS[name])


def test_environment_yml_names_the_package_s_requirements_at_the_constraints_versions():
    extras = PROJECT["optional-dependencies"]
    wanted = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"] + extras["lab"] + extras["test"]}
    pip = _environment_pip()
    assert "-e .[lab,test]" in pip, "environment.yml should install the package itself with its lab and test extras"
    pins = _pins(pip)
    assert set(pins) == wanted and len(pins) == len(pip) - 1
    assert {name: CONSTRAINTS[name] for name in pins} == pins


def test_binder_builds_the_tested_torch_on_the_cpu_without_the_test_tools():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    pins = _pins(lines)
    assert pins == {name: CONSTRAINTS[name] for name in ("torch", "torchvision")}
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines and "." in lines


def test_make_installs_the_constraints_and_ci_runs_make_test_then_variants():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PIP_INSTALL := .*pip install .*-c constraints\.txt", makefile, re.M)
    assert re.search(r"^\$\(STAMP\): .*constraints\.txt\n(\t.*\n)*\t\$\(PIP_INSTALL\) -e", makefile, re.M)
    assert re.search(r"^test:.*\n(\t.*\n)*\t.*pytest", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("\nmake test") < ci.index("\nmake variants")


def test_make_lab_allows_root_and_takes_arguments():
    """JupyterLab refuses to run as root without --allow-root (a container, a cloud VM)."""
    # --no-print-directory: under `make test` this make is a sub-make, which would add "Leaving directory" lines
    dry = subprocess.run(["make", "--no-print-directory", "-n", "lab", "LAB_ARGS=--no-browser --port 8899"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    command = dry.stdout.strip().splitlines()[-1]
    assert command.startswith(".venv/bin/jupyter lab") and command.endswith("--no-browser --port 8899 notebooks/")
    assert ("--allow-root" in command) == (os.geteuid() == 0)
