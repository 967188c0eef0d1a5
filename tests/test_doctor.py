"""`python -m cnn_lesson doctor`: each check on machines made up for the test, and the command."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from cnn_lesson import doctor
from cnn_lesson.doctor import OK, PROBLEM, WARNING, Check

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = [(3, 10), (3, 11), (3, 12), (3, 13)]


def pinned(python):
    """What requirements.txt installs on `python`: pip names to versions."""
    versions = {}
    environment = {"python_version": f"{python[0]}.{python[1]}"}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            assert requirement.name not in versions, f"two pins for {requirement.name}"
            versions[requirement.name] = str(requirement.specifier).removeprefix("==")
    return versions


@pytest.mark.parametrize("python", PYTHONS)
def test_tested_versions_are_what_requirements_txt_installs(python):
    assert doctor.tested_versions(python) == pinned(python)


def test_requires_python_matches_the_supported_pythons():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10,<3.14"' in text
    assert doctor.SUPPORTED_PYTHONS == tuple(PYTHONS)
    for python in PYTHONS:
        assert Marker('python_version >= "3.10" and python_version < "3.14"').evaluate(
            {"python_version": f"{python[0]}.{python[1]}"})


@pytest.mark.parametrize("python", PYTHONS)
def test_the_wheels_dependencies_are_what_requirements_txt_pins(python):
    """A wheel installs by pyproject's ranges: each must take the tested pin, and name the
    same packages, so that the wheel's learner gets JupyterLab and the widgets too."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest brings tomli
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(text).name: Requirement(text).specifier
              for text in project["dependencies"]}
    pins = pinned(python)
    assert set(ranges) == set(pins) - {"nbval"}  # nbval: the instructors' check, in a checkout
    for name, specifier in ranges.items():
        assert specifier.contains(pins[name]), f"{name} {pins[name]} is outside {specifier}"


def test_learner_install_holds_no_test_tools():
    learner = (ROOT / "requirements.txt").read_text()
    developer = (ROOT / "requirements-dev.txt").read_text()
    for tool in ("pytest", "playwright"):
        assert f"{tool}==" not in learner
        assert f"{tool}==" in developer
    assert "-r requirements.txt" in developer


@pytest.mark.parametrize("version", [(3, 10, 13), (3, 11, 7), (3, 13, 0)])
def test_supported_python_is_ok(version):
    check = doctor.check_python(version)
    assert check.status == OK and "3.10 to 3.13" in check.message


def test_python_314_is_a_problem_that_names_tensorflow():
    check = doctor.check_python((3, 14, 0))
    assert check.status == PROBLEM
    assert "3.14.0 is not supported" in check.message and "no wheel" in check.message
    assert "Python 3.13" in check.message


def test_old_python_is_a_problem():
    assert doctor.check_python((3, 9, 18)).status == PROBLEM


def test_packages_ok_warning_and_problem():
    versions = dict(doctor.tested_versions((3, 11)), numpy="1.26.4")
    del versions["h5py"], versions["nbval"]
    checks = {check.name: check for check in doctor.check_packages(versions.get, (3, 11))}
    assert checks["tensorflow"].status == OK and checks["tensorflow"].message == "2.21.0"
    assert checks["numpy"].status == WARNING
    assert "1.26.4 installed" in checks["numpy"].message and "2.4.6" in checks["numpy"].message
    assert checks["h5py"].status == PROBLEM and "pip install -r" in checks["h5py"].message
    # The wheel's learner has no nbval: only the instructors' check needs it.
    assert checks["nbval"].status == OK and "not needed for the lessons" in checks["nbval"].message


def test_packages_on_python_310_are_checked_against_its_own_pins():
    versions = doctor.tested_versions((3, 10))
    assert versions["numpy"] == "2.2.6"
    checks = doctor.check_packages(versions.get, (3, 10))
    assert {check.status for check in checks} == {OK}


def write_cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: {' '.join(flags)}\n\nprocessor\t: 1\n"
                    f"flags\t\t: {' '.join(flags)}\n")
    return path


def test_cpu_with_bfloat16(tmp_path):
    flags = doctor.cpu_flags(write_cpuinfo(tmp_path, ["fpu", "avx", "avx2", "avx512f",
                                                      "avx512_bf16"]))
    check = doctor.check_cpu(flags)
    assert check.status == OK
    assert "has AVX2, AVX-512, bfloat16" in check.message and "lacks" not in check.message


def test_cpu_without_avx512(tmp_path):
    check = doctor.check_cpu(doctor.cpu_flags(write_cpuinfo(tmp_path, ["avx", "avx2"])))
    assert check.status == OK
    assert "has AVX2; lacks AVX-512, bfloat16" in check.message and "float32" in check.message


def test_cpu_without_avx_is_a_problem(tmp_path):
    check = doctor.check_cpu(doctor.cpu_flags(write_cpuinfo(tmp_path, ["fpu", "sse4_2"])))
    assert check.status == PROBLEM and "AVX" in check.message


def test_cpu_unknown_without_proc_cpuinfo(tmp_path):
    assert doctor.cpu_flags(tmp_path / "missing") is None
    assert doctor.check_cpu(None).status == OK


def test_precision_names_the_pick_and_a_broken_tensorflow():
    assert doctor.check_precision(lambda: "mixed_bfloat16").message == "`auto` picks mixed_bfloat16"

    def broken():
        raise ImportError("no tensorflow")

    assert doctor.check_precision(broken).status == PROBLEM


def test_gpus():
    assert doctor.check_gpus(lambda: []).status == OK
    check = doctor.check_gpus(lambda: [SimpleNamespace(name="/physical_device:GPU:0")])
    assert check.status == OK and "1 seen" in check.message and "GPU:0" in check.message


def test_data_download_still_to_do_and_done(tmp_path):
    check = doctor.check_data(None, tmp_path)
    assert check.status == OK and "still to do" in check.message and "170 MB" in check.message
    (tmp_path / "downloads").mkdir()
    archive = tmp_path / "downloads" / "cifar-10-python.tar.gz"
    archive.write_bytes(b"archive")  # a download cut short
    check = doctor.check_data(None, tmp_path)
    assert check.status == WARNING and "already in" in check.message
    assert "7 bytes where the official archive has 170,498,071" in check.message
    with archive.open("r+b") as file:  # the official size (sparse: no 170 MB written)
        file.truncate(170_498_071)
    check = doctor.check_data(None, tmp_path)
    assert check.status == OK and "already in" in check.message


def test_paths_doctor_cannot_use_are_problems_not_tracebacks(tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert doctor.check_output(a_file / "sub").status == PROBLEM  # a folder under a file
    assert doctor.check_output(tmp_path / ("x" * 300)).status == PROBLEM  # a name too long
    assert doctor.check_data("~nosuchuser_cnn/cifar", tmp_path).status == PROBLEM
    monkeypatch.setenv("CNN_LESSON_CACHE", "~nosuchuser_cnn/cache")
    monkeypatch.setenv("CNN_LESSON_OUTPUT", "~nosuchuser_cnn/out")
    checks = {check.name: check for check in doctor.run_checks()}
    assert checks["settings"].status == PROBLEM and "~" in checks["settings"].message


def test_data_local_path_present_or_missing(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"x")
    check = doctor.check_data(str(tmp_path), tmp_path / "cache")
    assert check.status == OK and "batches folder" in check.message
    check = doctor.check_data(str(tmp_path / "nowhere"), tmp_path / "cache")
    assert check.status == PROBLEM and "There is no file or folder" in check.message


def test_data_synthetic_is_a_warning(tmp_path):
    assert doctor.check_data("synthetic", tmp_path).status == WARNING


def test_output_space(tmp_path):
    def free(amount):
        return lambda path: SimpleNamespace(free=amount)

    assert doctor.check_output(tmp_path / "new", free(50e9)).status == OK
    check = doctor.check_output(tmp_path, free(500 * 2**20))
    assert check.status == WARNING and "500 MB free" in check.message
    check = doctor.check_output(tmp_path, free(10e6))
    assert check.status == PROBLEM and "50 MB" in check.message
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert doctor.check_output(a_file, free(50e9)).status == PROBLEM


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_not_writable(tmp_path):
    tmp_path.chmod(0o500)
    try:
        assert doctor.check_output(tmp_path / "out").status == PROBLEM
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("widgets, frontend, status", [
    ("8.1.9", "3.0.17", OK),
    ("7.8.5", "1.1.11", OK),
    ("8.1.9", "1.1.11", PROBLEM),
    ("7.8.5", "3.0.17", PROBLEM),
    (None, "3.0.17", PROBLEM),
    ("8.1.9", None, PROBLEM),
])
def test_widgets_versions_must_match(widgets, frontend, status):
    versions = {"ipywidgets": widgets, "jupyterlab_widgets": frontend}
    check = doctor.check_widgets(versions.get)
    assert check.status == status
    if status == PROBLEM:
        assert "show as text" in check.message


def test_report_exit_status():
    text, status = doctor.report([Check(OK, "a", "fine"), Check(WARNING, "b", "odd")])
    assert status == 0
    assert text.splitlines()[0] == "ok       a: fine"
    assert "0 problem(s), 1 warning(s)" in text
    _, status = doctor.report([Check(OK, "a", "fine"), Check(PROBLEM, "c", "broken")])
    assert status == 1


def test_doctor_command_prints_one_line_per_check(tmp_path):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CNN_LESSON_DATA": "",
                   "CNN_LESSON_CACHE": str(tmp_path / "cache"),
                   "CNN_LESSON_OUTPUT": str(tmp_path / "output")}
    result = subprocess.run([sys.executable, "-m", "cnn_lesson", "doctor"], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=300)
    lines = result.stdout.splitlines()
    checks = [line for line in lines[:-1]]
    assert all(line.split()[0] in (OK, WARNING, PROBLEM) for line in checks), result.stdout
    names = {line.split()[1].rstrip(":") for line in checks}
    assert {"Python", "tensorflow", "widgets", "CPU", "precision", "GPU", "data",
            "output"} <= names
    assert "still to do" in result.stdout  # nothing was downloaded
    assert not (tmp_path / "cache").exists() and not (tmp_path / "output").exists()
    assert result.returncode == (1 if any(line.startswith(PROBLEM) for line in checks) else 0)
