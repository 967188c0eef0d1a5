"""The lessons travel with the package: a wheel built from the project, installed in a fresh
virtual environment and used far from the checkout, copies the five lessons with
`python -m cnn_lesson notebooks copy DIR`, and a copied lesson runs there.

The fresh environment gets its dependencies (TensorFlow and the rest, ~1 GB) from the test's
own environment through a `.pth` file instead of a second download, so the test needs no
network. Only paths are borrowed: `.pth` files inside them (such as the checkout's editable
install of cnn_lesson) are not processed, so `cnn_lesson` can only come from the wheel, and
the test checks that it does.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IGNORED = shutil.ignore_patterns(".git", ".venv*", "output", "build", "dist", "*.egg-info",
                                 "__pycache__", ".pytest_cache", ".ipynb_checkpoints")


def test_pyproject_lists_every_package_of_cnn_lesson():
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest brings tomli
        import tomli as tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(path.parent.relative_to(ROOT).parts)
             for path in (ROOT / "cnn_lesson").rglob("__init__.py")}
    assert set(listed) == found | {"cnn_lesson.lessons"}  # the lessons: notebooks/, no __init__


def _run(command, cwd, env, timeout=300):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv holding only the wheel, a clean environment, a work folder)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)  # a build leaves build/ behind: not here
    code, log = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                      "-q", "-w", str(root / "dist"), str(source)], root, None)
    assert code == 0, log
    (wheel,) = (root / "dist").glob("cnn_lesson-*.whl")

    env_dir = root / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    code, log = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                      "--no-deps", "--no-index", str(wheel)], root, None)
    assert code == 0, log
    purelib = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "borrowed_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")

    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CNN_LESSON_") and key not in ("PYTHONPATH", "MPLBACKEND")}
    work = root / "learner"
    work.mkdir()
    return python, env, work


def test_the_wheel_installs_the_package_with_its_lessons(installed):
    python, env, work = installed
    code, log = _run([python, "-c", "import cnn_lesson, cnn_lesson.exercises.lesson5, "
                      "cnn_lesson.data; from cnn_lesson.further_ablation import ablation; "
                      "assert len(ablation()) > 1; print('FROM', cnn_lesson.__file__)"], work, env)
    assert code == 0, log
    (line,) = [line for line in log.splitlines() if line.startswith("FROM ")]
    assert line.startswith(f"FROM {python.parent.parent}/"), line  # not the checkout's


def test_notebooks_copy_from_the_wheel_writes_the_lessons_and_keeps_a_learners_copy(installed):
    python, env, work = installed
    lessons = work / "my lessons"
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "copy", str(lessons)], work, env)
    assert code == 0, log
    assert sorted(path.name for path in lessons.glob("*.ipynb")) == LESSONS
    for name in LESSONS:
        assert (lessons / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()

    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "copy", str(lessons)], work, env)
    assert code == 0 and "unchanged" in log, log

    edited = lessons / LESSONS[0]
    edited.write_text(edited.read_text().replace("Lesson 1", "My lesson 1"))
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "copy", str(lessons)], work, env)
    assert code == 1 and "--force" in log and "Traceback" not in log, log
    assert "My lesson 1" in edited.read_text()
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "copy", str(lessons),
                      "--force"], work, env)
    assert code == 0, log
    assert edited.read_bytes() == (ROOT / "notebooks" / LESSONS[0]).read_bytes()


def test_the_student_edition_builds_from_the_wheel(installed):
    python, env, work = installed
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "student", "student"], work, env)
    assert code == 0, log
    assert sorted(path.name for path in (work / "student").glob("*.ipynb")) == LESSONS
    assert (work / "student" / "solutions").is_dir()


def test_the_instructors_commands_say_they_need_a_checkout(installed):
    python, env, work = installed
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "check"], work, env)
    assert code == 1 and "needs a checkout" in log and "Traceback" not in log, log


def test_a_copied_lesson_runs_and_writes_beside_itself(installed):
    python, env, work = installed
    lessons = work / "run"
    code, log = _run([python, "-m", "cnn_lesson", "notebooks", "copy", str(lessons)], work, env)
    assert code == 0, log
    # The last cell reports where the kernel's Python lives: a kernelspec of the host (a
    # user's ~/.local/share/jupyter) must not run the lesson outside the wheel's venv.
    script = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "notebook = nbformat.read(sys.argv[1], as_version=4)\n"
        "notebook.cells.append(nbformat.v4.new_code_cell('import sys; print(sys.prefix)'))\n"
        "NotebookClient(notebook, timeout=600, kernel_name='python3',\n"
        "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "print('KERNEL', notebook.cells[-1].outputs[0]['text'].strip())\n"
    )
    run_env = {**env, "CNN_LESSON_QUICK": "1", "CNN_LESSON_DATA": "synthetic"}
    code, log = _run([python, "-c", script, str(lessons / LESSONS[0]), str(lessons)], work,
                     run_env, timeout=900)
    assert code == 0, log[-3000:]
    (kernel,) = [line for line in log.splitlines() if line.startswith("KERNEL ")]
    assert kernel == f"KERNEL {python.parent.parent}", kernel
    written = sorted(path.name for path in (lessons / "output").iterdir())
    assert written, "lesson 1 wrote nothing to output/ beside the lessons"
    site = python.parent.parent
    assert not list(site.rglob("output")), json.dumps([str(p) for p in site.rglob("output")])
