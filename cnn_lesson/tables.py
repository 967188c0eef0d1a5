"""`Table`: rows of results that print as a table in a terminal and as HTML in a notebook.

Lesson 4 shows per-class accuracy and the most confused pairs this way. pandas would do it,
but it is not a dependency of the course, and a list of dicts is something a learner can
index and loop over like any list.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

from cnn_lesson.errors import SettingsError


class Table(list):
    """Rows (dicts with the same keys) that print as a table in a terminal and in a notebook."""

    def __init__(self, rows: Iterable[Mapping] = ()):
        rows = list(rows) if isinstance(rows, Iterable) and not isinstance(rows, (str, Mapping)) \
            else None
        if rows is None or not all(isinstance(row, Mapping) for row in rows) \
                or any(list(row) != list(rows[0]) for row in rows):
            raise SettingsError("A Table is made of rows: dicts with the same keys in the same "
                                "order, such as [{'class': 'cat', 'accuracy': 0.5}].")
        super().__init__(rows)

    def _cell(self, value: object) -> str:
        if isinstance(value, float):
            return "—" if math.isnan(value) else f"{value:.1%}" if 0 <= value <= 1 else f"{value:.3g}"
        return str(value)

    def __repr__(self) -> str:
        if not self:
            return "(no rows)"
        columns = list(self[0])
        cells = [columns] + [[self._cell(row[c]) for c in columns] for row in self]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        return "\n".join(
            "  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells)

    def _repr_html_(self) -> str:
        if not self:
            return "<p>(no rows)</p>"
        columns = list(self[0])
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{self._cell(row[c])}</td>" for c in columns) + "</tr>"
            for row in self
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
