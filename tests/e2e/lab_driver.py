"""Drive a real JupyterLab in a real browser, the way a learner uses it.

The browser suite (`tests/e2e`) starts JupyterLab (see `conftest.py`) and hands each test a
`LabPage`: a Chromium page showing JupyterLab, with the few things a learner does there:
open a notebook from the file browser, "Run" > "Run All Cells", look at the outputs. Each
wait is bounded, both by its own timeout and by the session's `Deadline`.

What the page shows is read from the DOM (prompts, images, widgets); which output is an
error is read from the notebook's model, because JupyterLab 4 renders an error's traceback
exactly like stderr (`data-mime-type="application/vnd.jupyter.stderr"`). The model is
reachable as `window.jupyterapp` because the server runs with `expose_app_in_browser`, as
JupyterLab's own UI tests (galata) do.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # playwright is imported only by conftest, so a missing package can skip
    from playwright.sync_api import Locator, Page

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
OUTPUT = f"{NOTEBOOK} .jp-OutputArea-output"
POLL_SECONDS = 0.5

# The notebook with `path`, its kernel's status and, per cell, what a learner sees.
_NOTEBOOK_STATE_JS = """
(path) => {
    const app = window.jupyterapp;
    if (!app) { return {error: "window.jupyterapp is missing (expose_app_in_browser off?)"}; }
    let panel = null;
    for (const widget of app.shell.widgets("main")) {
        if (widget.context && widget.context.path === path) { panel = widget; }
    }
    if (!panel || !panel.content.model) { return null; }
    const kernel = panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
    const dialogs = [...document.querySelectorAll(".jp-Dialog")].map(d => d.innerText.trim());
    return {
        kernel: kernel ? kernel.status : "none",
        dialogs: dialogs,
        cells: panel.content.widgets.map((cell, index) => {
            const model = cell.model;
            const state = {index: index, type: model.type, source: model.sharedModel.getSource()};
            if (model.type === "code") {
                const prompt = cell.node.querySelector(".jp-InputArea-prompt");
                state.count = model.executionCount;
                state.pending = prompt ? prompt.textContent.includes("*") : false;
                state.outputs = model.outputs.toJSON().map(output => ({
                    type: output.output_type,
                    ename: output.ename || "",
                    evalue: output.evalue || "",
                    mimes: output.data ? Object.keys(output.data) : [],
                }));
            }
            return state;
        }),
    };
}
"""

# Per cell (by index, in the notebook's order): its output images, widgets and text.
_OUTPUTS_JS = """
(path) => {
    let panel = null;
    for (const widget of window.jupyterapp.shell.widgets("main")) {
        if (widget.context && widget.context.path === path) { panel = widget; }
    }
    return panel.content.widgets.map(cell => {
        const area = cell.node.querySelector(".jp-OutputArea");
        return {
            images: [...cell.node.querySelectorAll(".jp-OutputArea-output img")].map(img => ({
                complete: img.complete, width: img.naturalWidth})),
            widgets: cell.node.querySelectorAll(".jp-OutputArea-output .jupyter-widgets").length,
            text: area ? area.innerText : "",
        };
    });
}
"""


class NotebookRunError(AssertionError):
    """A notebook did not run cleanly in JupyterLab: the message names the notebook and cell."""


class E2ETimeout(AssertionError):
    """A wait ran out of time (its own, or the whole browser session's)."""


class Deadline:
    """The time left to the whole browser session; every wait is cut to fit in it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def clip(self, seconds: float, what: str) -> float:
        """`seconds`, or less when the session has less left; raises when none is left."""
        left = self.left()
        if left <= 0:
            raise E2ETimeout(f"{what}: the browser session's {self.seconds:.0f} s are spent "
                             "(CNN_LESSON_E2E_TIMEOUT)")
        return min(seconds, left)


def first_line(source: str) -> str:
    """The first line of a cell's source that is not blank or an nbval marker comment."""
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("# NBVAL"):
            return line.strip()
    return "(empty cell)"


@dataclass
class CellRun:
    """One code cell after a run, as the notebook model holds it."""

    index: int  # position in the notebook's cells, from 0 (markdown cells count)
    source: str
    count: int | None
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [output for output in self.outputs if output["type"] == "error"]

    def describe(self) -> str:
        prompt = f"In [{self.count}]" if self.count is not None else "not run"
        return f"cell {self.index} ({prompt}: `{first_line(self.source)}`)"


@dataclass
class NotebookRun:
    """A notebook after "Run All Cells": its code cells and the kernel's last status."""

    path: str
    cells: list[CellRun]
    kernel: str
    seconds: float

    def failures(self) -> list[str]:
        """One line per failing cell: "cell 4 (In [3]: `raise ...`) raised ValueError: boom"."""
        lines = []
        for cell in self.cells:
            for error in cell.errors:
                lines.append(f"{cell.describe()} raised {error['ename']}: {error['evalue']}")
        return lines

    def raise_for_errors(self) -> None:
        """Raise `NotebookRunError` naming each failing cell, or a dead kernel."""
        failures = self.failures()
        if failures:
            raise NotebookRunError(f"{self.path}: " + "; ".join(failures))
        if self.kernel == "dead":
            raise NotebookRunError(f"{self.path}: the kernel died ({self.kernel}); "
                                   f"last cell run: {self._last_run()}")
        not_run = [cell.describe() for cell in self.cells if cell.count is None]
        if not_run:
            raise NotebookRunError(f"{self.path}: these cells did not run: " + ", ".join(not_run))

    def _last_run(self) -> str:
        done = [cell for cell in self.cells if cell.count is not None]
        return max(done, key=lambda cell: cell.count).describe() if done else "none"


class LabPage:
    """A browser page showing JupyterLab, with what a learner does there.

    Args:
        page: the Playwright page (already at JupyterLab).
        deadline: the session's time left; every wait is clipped to it.
    """

    def __init__(self, page: Page, deadline: Deadline):
        self.page = page
        self.deadline = deadline

    # -- waiting ------------------------------------------------------------------------

    def wait_until(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll `condition` until it returns something truthy; `E2ETimeout` after `timeout` s."""
        allowed = self.deadline.clip(timeout, what)
        end = time.monotonic() + allowed
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() >= end:
                cut = "" if allowed == timeout else " (all the browser session had left)"
                raise E2ETimeout(f"{what}: not done after {allowed:.0f} s{cut}")
            self.page.wait_for_timeout(POLL_SECONDS * 1000)

    def timeout_ms(self, seconds: float, what: str) -> float:
        """A Playwright timeout (ms) for an action, cut to the session's time left."""
        return self.deadline.clip(seconds, what) * 1000

    # -- the file browser and the menu --------------------------------------------------

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Wait until JupyterLab shows its file browser and knows its kernels."""
        self.page.locator(".jp-FileBrowser .jp-DirListing-content").wait_for(
            timeout=self.timeout_ms(timeout, "the file browser shows"))
        self.wait_until(lambda: self.page.evaluate(
            """() => { const app = window.jupyterapp;
                       const specs = app && app.serviceManager.kernelspecs.specs;
                       return !!specs && Object.keys(specs.kernelspecs).length > 0; }"""),
            timeout, "JupyterLab lists the kernels")

    def open_notebook(self, path: str, timeout: float = 60) -> None:
        """Open `path` (relative to the server's root) by double-clicks in the file browser."""
        page = self.page
        page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").click(
            timeout=self.timeout_ms(timeout, path))
        for part in PurePosixPath(path).parts:
            name = page.locator(".jp-DirListing-itemText",
                                has_text=re.compile(f"^{re.escape(part)}$"))
            item = page.locator(".jp-FileBrowser .jp-DirListing-item").filter(has=name)

            def visible(item: Locator = item) -> bool:
                if item.count():
                    return True
                refresh = page.locator(".jp-FileBrowser [data-command='filebrowser:refresh']")
                if refresh.count():  # else the file browser's own polling finds it
                    refresh.first.click()
                return False

            self.wait_until(visible, timeout, f"{path}: '{part}' in the file browser")
            item.first.dblclick(timeout=self.timeout_ms(timeout, path))
        self.wait_until(lambda: self.notebook_state(path), timeout, f"{path}: the notebook opens")

    def run_all_cells(self) -> None:
        """Click "Run" in the menu bar, then "Run All Cells"."""
        page = self.page
        page.locator(".lm-MenuBar-item").get_by_text("Run", exact=True).click(
            timeout=self.timeout_ms(30, "the Run menu"))
        page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click(
            timeout=self.timeout_ms(30, "Run All Cells"))

    # -- reading the notebook -----------------------------------------------------------

    def notebook_state(self, path: str) -> dict[str, Any] | None:
        state = self.page.evaluate(_NOTEBOOK_STATE_JS, path)
        if state and "error" in state:
            raise AssertionError(state["error"])
        return state

    def run_notebook(self, path: str, timeout: float = 300) -> NotebookRun:
        """Open `path`, run all its cells and wait until the run is over (or a cell failed).

        Over means: the kernel is idle, no prompt shows `[*]`, and every code cell has an
        execution count or some cell holds an error (the kernel skips the cells after it).

        Raises:
            E2ETimeout: not over within `timeout` seconds; names the cell still running.
        """
        started = time.monotonic()
        self.open_notebook(path)
        last: dict[str, Any] = {}

        def state_now() -> dict[str, Any] | None:
            state = self.notebook_state(path)
            if state and any(text.startswith("Select Kernel") for text in state["dialogs"]):
                # asked when the kernel list came late; a learner keeps the proposed kernel
                self.page.locator(".jp-Dialog .jp-mod-accept").click()
                return None
            if state:
                last.update(state)
            return state

        try:  # like a learner, wait for the kernel to be ready ("Idle") before running
            self.wait_until(lambda: (state_now() or {}).get("kernel") == "idle", timeout,
                            f"{path}: the kernel starts")
            self.run_all_cells()
            state = self.wait_until(lambda: self._run_over(state_now()), timeout,
                                    f"{path}: Run All Cells")
        except E2ETimeout as timed_out:
            raise E2ETimeout(f"{timed_out}; {self._where(last)}") from None
        cells = [CellRun(cell["index"], cell["source"], cell["count"], cell["outputs"])
                 for cell in state["cells"] if cell["type"] == "code"]
        return NotebookRun(path, cells, state["kernel"], time.monotonic() - started)

    @staticmethod
    def _run_over(state: dict[str, Any] | None) -> dict[str, Any] | None:
        """`state` when the run is over (see `run_notebook`), else None."""
        if not state:
            return None
        code = [cell for cell in state["cells"] if cell["type"] == "code"]
        if state["kernel"] == "dead":
            return state
        if state["kernel"] != "idle" or any(cell["pending"] for cell in code):
            return None
        failed = any(o["type"] == "error" for cell in code for o in cell["outputs"])
        return state if failed or all(cell["count"] is not None for cell in code) else None

    @staticmethod
    def _where(state: dict[str, Any]) -> str:
        if not state:
            return "the notebook never showed its cells"
        code = [c for c in state["cells"] if c["type"] == "code"]
        pending = [c for c in code if c["pending"]]
        where = (f"still running: cell {pending[0]['index']} (`{first_line(pending[0]['source'])}`)"
                 if pending else f"kernel {state['kernel']}, "
                 f"{sum(c['count'] is not None for c in code)} of {len(code)} code cells run")
        if state.get("dialogs"):
            where += "; a dialog is open: " + " | ".join(state["dialogs"])
        return where

    # -- checks on what is shown --------------------------------------------------------

    def check_images(self, run: NotebookRun, expected: set[int] = frozenset(),
                     timeout: float = 30) -> int:
        """Wait until every output image has loaded; check each has a size.

        Args:
            run: the finished run.
            expected: indices of cells that must show at least one image.

        Returns:
            How many images the outputs show.

        Raises:
            NotebookRunError: an image is broken, or an expected cell shows none.
        """
        def loaded() -> list[list[dict[str, Any]]] | None:
            cells = [cell["images"] for cell in self.page.evaluate(_OUTPUTS_JS, run.path)]
            return cells if all(image["complete"] for cell in cells for image in cell) else None

        images = self.wait_until(loaded, timeout, f"{run.path}: images load")
        by_index = {cell.index: cell for cell in run.cells}
        problems = []
        for index, shown in enumerate(images):
            broken = [image for image in shown if image["width"] == 0]
            if broken:
                problems.append(f"{by_index[index].describe()} shows {len(broken)} broken image(s)")
            if index in expected and not shown:
                problems.append(f"{by_index[index].describe()} shows no picture")
        if problems:
            raise NotebookRunError(f"{run.path}: " + "; ".join(problems))
        return sum(len(shown) for shown in images)

    def check_widgets_rendered(self, run: NotebookRun, timeout: float = 30) -> int:
        """Check that every widget output has been drawn (not "Loading widget..." or an error).

        Returns:
            How many widget outputs there are.
        """
        widget_cells = [cell for cell in run.cells
                        if any("application/vnd.jupyter.widget-view+json" in o["mimes"]
                               for o in cell.outputs)]

        def drawn() -> bool:
            texts = self.page.evaluate(_OUTPUTS_JS, run.path)
            for cell in widget_cells:
                shown = texts[cell.index]
                if "Error displaying widget" in shown["text"]:
                    raise NotebookRunError(f"{run.path}: {cell.describe()}: {shown['text'][:300]}")
                if not shown["widgets"]:
                    return False
            return True

        self.wait_until(drawn, timeout, f"{run.path}: widgets drawn")
        return len(widget_cells)

    # -- widgets ------------------------------------------------------------------------

    def widget_output(self, kind: str, description: str) -> Locator:
        """The output holding a widget of `kind` (e.g. "widget-dropdown") labelled `description`."""
        label = self.page.locator(f".{kind} > label.widget-label",
                                  has_text=re.compile(f"^{re.escape(description)}$"))
        return self.page.locator(OUTPUT).filter(has=label).first

    def wait_for_change(self, read: Callable[[], Any], before: Any, timeout: float,
                        what: str) -> Any:
        """Wait until `read()` differs from `before`; return the new value."""
        return self.wait_until(lambda: (lambda now: now if now != before else None)(read()),
                               timeout, what)

    # -- screenshots --------------------------------------------------------------------

    def screenshot(self, path: Path, max_height: int = 16000) -> Path:
        """Save the whole open notebook (the window grown to its height) as a PNG at `path`."""
        page = self.page
        path.parent.mkdir(parents=True, exist_ok=True)
        viewport = page.viewport_size or {"width": 1280, "height": 900}
        scroller = f"{NOTEBOOK} .jp-WindowedPanel-outer"
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for the notebook
        page.wait_for_timeout(300)
        extra = page.evaluate("(css) => { const s = document.querySelector(css); "
                              "return s ? s.scrollHeight - s.clientHeight : 0; }", scroller)
        height = min(max_height, viewport["height"] + max(0, int(extra)) + 40)
        try:
            page.set_viewport_size({"width": viewport["width"], "height": height})
            page.wait_for_timeout(500)  # JupyterLab lays out again after the resize
            page.evaluate("(css) => { const s = document.querySelector(css); "
                          "if (s) s.scrollTop = 0; }", scroller)
            page.wait_for_timeout(200)
            page.screenshot(path=str(path), full_page=True,
                            timeout=self.timeout_ms(60, f"screenshot {path.name}"))
        finally:
            page.set_viewport_size(viewport)
        return path
