"""`Table`: rows of results that print as a table in a terminal and as HTML in a notebook.

Lesson 4 shows per-class accuracy and the most confused pairs this way. pandas would do it,
but it is not a dependency of the course, and a list of dicts is something a learner can
index and loop over like any list.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from typing import Iterable, Mapping

from cnn_lesson.errors import SettingsError

# A column holds shares (printed as percentages) when a word of its name is one of these:
# lesson 4's "accuracy", "recall", "precision", "share of true", "share of mistakes";
# lesson 5's ablation names its accuracies "validation", "test" and "test + mirror".
# Other numbers (a loss, a learning rate) print as numbers, even from 0 to 1.
SHARE_WORDS = frozenset({"accuracy", "recall", "precision", "share", "shares", "fraction",
                         "percent", "percentage", "validation", "test"})
MISSING = "—"  # a cell a row does not have, or a float that is NaN


def is_share_column(name: object) -> bool:
    """True if the column's name says it holds shares (see SHARE_WORDS), e.g. "val_accuracy"
    or "share of true", but not "val_loss"."""
    text = str(name).lower()
    words = set(re.findall(r"[a-z]+", text))
    return "%" in text or (bool(words & SHARE_WORDS) and "loss" not in words)


class Table(list):
    """Rows (dicts with the same keys) that print as a table in a terminal and in a notebook.

    Floats print with 3 significant digits; in a column of shares (named as `is_share_column`
    says, or listed in `percentages`) those from 0 to 1 print as percentages. NaN and cells a
    row lacks (after an `append`) print as "—".

    Args:
        rows: the rows, dicts with the same keys in the same order.
        percentages: the columns to print as percentages; None: those whose name says so.
    """

    def __init__(self, rows: Iterable[Mapping] = (), percentages: Iterable[str] | None = None):
        rows = list(rows) if isinstance(rows, Iterable) and not isinstance(rows, (str, Mapping)) \
            else None
        if rows is None or not all(isinstance(row, Mapping) for row in rows) \
                or any(list(row) != list(rows[0]) for row in rows):
            raise SettingsError("A Table is made of rows: dicts with the same keys in the same "
                                "order, such as [{'class': 'cat', 'accuracy': 0.5}].")
        columns = list(rows[0]) if rows else []
        if percentages is not None:
            names = None if isinstance(percentages, (str, Mapping)) \
                or not isinstance(percentages, Iterable) else list(percentages)
            # With no rows (no mistakes, say) there are no columns to name yet.
            if names is None or rows and not all(name in columns for name in names):
                raise SettingsError(f"percentages={percentages!r:.60}: pass a list of the "
                                    f"table's column names ({', '.join(map(str, columns))}), "
                                    "or None to go by the columns' names.")
            percentages = names
        super().__init__(rows)
        self.percentages = percentages  # None: the columns whose name says they are shares

    def _columns(self) -> list:
        """Every row's keys, in order of appearance (the rows may differ after an `append`)."""
        return list(dict.fromkeys(key for row in self if isinstance(row, Mapping) for key in row))

    def _is_share(self, column: object) -> bool:
        if self.percentages is None:
            return is_share_column(column)
        return column in self.percentages

    @staticmethod
    def _cell(value: object, share: bool) -> str:
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            value = float(value)  # numpy's float32 too, which is not a float
            return MISSING if math.isnan(value) else f"{value:.1%}" if share and 0 <= value <= 1 \
                else f"{value:.3g}"
        return str(value)

    def _cells(self) -> list[list[str]]:
        """The header, then each row's cells, as text."""
        columns = self._columns()
        shares = [self._is_share(column) for column in columns]
        return [[str(column) for column in columns]] + [
            [self._cell(row[column], share) if isinstance(row, Mapping) and column in row
             else MISSING for column, share in zip(columns, shares)]
            for row in self]

    def __repr__(self) -> str:
        if not self:
            return "(no rows)"
        cells = self._cells()
        widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
        return "\n".join(
            "  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells)

    def _repr_html_(self) -> str:
        if not self:
            return "<p>(no rows)</p>"
        header, *rows = [[html.escape(cell, quote=False) for cell in line]
                         for line in self._cells()]
        head = "".join(f"<th>{cell}</th>" for cell in header)
        body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                       for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
