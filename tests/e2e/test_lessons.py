"""Every lesson, run as a learner runs it: in JupyterLab, in Chromium, with "Run All Cells".

For each `notebooks/0*.ipynb` (in order: lesson 4 reads the model lesson 3 saved): open it
from the file browser, run all cells, wait for the kernel, then check that no cell failed,
that every picture is drawn (each `plot_...` cell shows one), that the widgets are drawn and
respond, and save a screenshot to `output/screenshots/<lesson>.png`. Two more tests check
the checker: a small notebook of our own (text, a plot, a slider moved by the keyboard), and
a broken one, which must fail naming its cell.

Run alone with `python -m pytest tests/e2e`; see `conftest.py` for what it needs.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab_driver import LabPage, NotebookRun, NotebookRunError

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"  # conftest serves a copy of this folder
SCREENSHOTS = PROJECT_ROOT / "output" / "screenshots"

LESSONS = sorted(NOTEBOOKS.glob("0*.ipynb"))
NOTEBOOK_SECONDS = 300  # one lesson's "Run All Cells", quick mode
WIDGET_SECONDS = 30  # a widget's answer to a click or a key
PICTURE_CALL = re.compile(r"\b(plot_\w+|live_training_plot)\(")


def cells_with_pictures(path: Path) -> set[int]:
    """Indices of the cells that must show an image: they call a `plot_...` helper or the live
    plot, or the committed notebook stores a picture for them."""
    notebook = nbformat.read(path, as_version=4)
    return {index for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and (
                PICTURE_CALL.search(cell.source)
                or any("image/png" in output.get("data", {}) for output in cell.outputs))}


def write_notebook(path: Path, cells: list) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, path)
    return path.name


# -- the widgets each lesson must show, and how a learner pokes them ------------------------

def img_src(output) -> str:
    return output.locator("img.widget-image, .widget-image img").first.get_attribute("src") or ""


def html_texts(output) -> list[str]:
    return output.locator(".widget-html").all_inner_texts()


def check_sample_browser(lab: LabPage, run: NotebookRun) -> None:
    """Lesson 1: pick another class in the sample browser; the label and the image change."""
    browser = lab.widget_output("widget-dropdown", "Class")
    assert browser.count(), f"{run.path}: no sample browser (a dropdown labelled 'Class')"
    select = browser.locator(".widget-dropdown select")
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    label_before, src_before = html_texts(browser)[0], img_src(browser)
    chosen = next(option for option in options if option != current)
    select.select_option(label=chosen)
    label_after = lab.wait_for_change(lambda: html_texts(browser)[0], label_before,
                                      WIDGET_SECONDS, f"{run.path}: the sample browser's label")
    assert chosen in label_after, f"{run.path}: chose {chosen!r}, the label says {label_after!r}"
    lab.wait_for_change(lambda: img_src(browser), src_before, WIDGET_SECONDS,
                        f"{run.path}: the sample browser's image")


def bar_widths(output) -> list[str]:
    return output.locator(".widget-hprogress .progress-bar").evaluate_all(
        "bars => bars.map(bar => bar.style.width)")


def check_prediction_explorer(lab: LabPage, run: NotebookRun) -> None:
    """Lesson 4: move the slider by keyboard; the ten bars change. "Show me a mistake" shows one."""
    explorer = lab.widget_output("widget-slider", "Test image")
    assert explorer.count(), f"{run.path}: no prediction explorer (a slider labelled 'Test image')"
    before = bar_widths(explorer)
    assert len(before) == 10, f"{run.path}: the prediction explorer has {len(before)} bars, not 10"
    explorer.locator(".noUi-handle").first.focus()
    lab.page.keyboard.press("ArrowRight")
    lab.page.keyboard.press("End")
    lab.wait_for_change(lambda: bar_widths(explorer), before, WIDGET_SECONDS,
                        f"{run.path}: the bars after moving the slider")
    button = explorer.locator(".widget-button", has_text="Show me a mistake")
    if button.is_enabled():  # disabled only when the model makes no mistake
        button.click()
        lab.wait_until(lambda: "wrong" in " ".join(html_texts(explorer)), WIDGET_SECONDS,
                       f"{run.path}: a mistake shown after 'Show me a mistake'")


def check_layer_explorer(lab: LabPage, run: NotebookRun) -> None:
    """Lesson 2: pick another layer; the feature map and its label change."""
    explorer = lab.widget_output("widget-dropdown", "Layer")
    assert explorer.count(), f"{run.path}: no layer explorer (a dropdown labelled 'Layer')"
    select = explorer.locator(".widget-dropdown select")
    options = select.locator("option").all_inner_texts()
    if len(options) < 2:
        return
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    label_before = html_texts(explorer)[0]
    select.select_option(label=next(option for option in options if option != current))
    lab.wait_for_change(lambda: html_texts(explorer)[0], label_before, WIDGET_SECONDS,
                        f"{run.path}: the layer explorer's label")


WIDGET_CHECKS = {
    "01_the_data": check_sample_browser,
    "02_the_model": check_layer_explorer,
    "04_results": check_prediction_explorer,
}


# -- the tests ----------------------------------------------------------------------------

def test_checker_on_a_small_notebook(lab: LabPage, lab_server):
    """Text, a plot and a slider linked to a label: all shown, and the slider answers keys."""
    name = write_notebook(lab_server.root / "e2e_selftest" / "small.ipynb", [
        new_markdown_cell("# A small notebook"),
        new_code_cell("print('hello from the kernel')"),
        new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"),
        new_code_cell("import ipywidgets as widgets\n"
                      "slider = widgets.IntSlider(description='Count', max=10)\n"
                      "label = widgets.Label('value 0')\n"
                      "slider.observe(lambda change: setattr(label, 'value',"
                      " f'value {change.new}'), names='value')\n"
                      "widgets.VBox([slider, label])"),
    ])
    run = lab.run_notebook(f"e2e_selftest/{name}", timeout=120)
    run.raise_for_errors()
    assert lab.check_images(run, expected={2}) == 1
    assert lab.check_widgets_rendered(run) == 1
    assert "hello from the kernel" in lab.page.locator(".jp-OutputArea-output").first.inner_text()
    output = lab.widget_output("widget-slider", "Count")
    output.locator(".noUi-handle").first.focus()
    lab.page.keyboard.press("End")
    lab.wait_until(lambda: output.locator(".widget-label-basic, .widget-label").last
                   .inner_text() == "value 10", WIDGET_SECONDS, "the label follows the slider")


def test_a_failing_cell_is_named(lab: LabPage, lab_server):
    """A cell that raises makes the run fail, naming the notebook, the cell and the error."""
    name = write_notebook(lab_server.root / "e2e_broken" / "broken.ipynb", [
        new_markdown_cell("# Broken on purpose"),
        new_code_cell("print('fine')"),
        new_code_cell("value = 1\nraise ValueError('boom')"),
        new_code_cell("print('never reached')"),
    ])
    run = lab.run_notebook(f"e2e_broken/{name}", timeout=120)
    with pytest.raises(NotebookRunError) as failure:
        run.raise_for_errors()
    message = str(failure.value)
    assert "e2e_broken/broken.ipynb" in message
    assert "cell 2 (In [2]: `value = 1`) raised ValueError: boom" in message


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs_in_jupyterlab(lab: LabPage, lesson: Path):
    screenshot = SCREENSHOTS / f"{lesson.stem}.png"
    try:
        run = lab.run_notebook(lesson.name, timeout=NOTEBOOK_SECONDS)
        run.raise_for_errors()
        lab.check_images(run, expected=cells_with_pictures(lesson))
        lab.check_widgets_rendered(run)
        check_widgets = WIDGET_CHECKS.get(lesson.stem)
        if check_widgets:
            check_widgets(lab, run)
    except BaseException:
        try:  # a picture of the failure helps; its own trouble must not hide the failure
            lab.screenshot(screenshot)
        except Exception as error:
            warnings.warn(f"no screenshot of the failed {lesson.name}: {error}")
        raise
    lab.screenshot(screenshot)
