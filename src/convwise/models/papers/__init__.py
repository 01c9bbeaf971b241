"""Published cost tables beside our exact counts of the same models: `paper_tables("mobilenet")`.

- `published`: the figures as printed, with their sources (data only);
- `table`: the comparison model (`Cell`, `Row`, `Table`, `Tables`) and how it renders;
- `counting`: how a zoo model is counted for a paper (convs and fully connected layers);
- `mobilenet`, `dscnn`: each table's recipe, its notes generated from the computed figures.

Our numbers come from `convwise.profile` (conv costs from `convwise.core`, a Linear costs in·out MACs);
parameters are counted layers (convs + fully connected; BatchNorm excluded, as in the papers). Every figure
is exact; it is rounded only to compare with the published one at the paper's own precision.
"""

from __future__ import annotations

from collections.abc import Callable

from convwise.core import config_error
from convwise.models.papers.dscnn import dscnn_figures, dscnn_table
from convwise.models.papers.mobilenet import (
    mobilenet_table2,
    mobilenet_table3,
    mobilenet_table4,
    mobilenet_table6,
    mobilenet_table7,
    mobilenetv2_table,
)
from convwise.models.papers.table import Cell, Published, Row, Table, Tables

#: paper → table key → builder of the reproduced table (in print order).
PAPERS: dict[str, dict[str, Callable[[], Table]]] = {
    "mobilenet": {
        "table4": mobilenet_table4,
        "table6": mobilenet_table6,
        "table7": mobilenet_table7,
        "table2": mobilenet_table2,
        "table3": mobilenet_table3,
    },
    "mobilenetv2": {"checkpoints": mobilenetv2_table},
    "ds-cnn": {"ds-cnn": dscnn_table},
}


def paper_tables(name: str, table: str | None = None) -> Tables:
    """The reproduced tables of a paper ('mobilenet', 'mobilenetv2' or 'ds-cnn'), or only `table`.

    Raises:
        ConfigError: unknown paper or table.

    >>> [t.key for t in paper_tables("mobilenet", "table3").tables]
    ['table3']
    """
    if name not in PAPERS:
        raise config_error(f"`paper` must be one of {', '.join(PAPERS)}.", paper=name)
    builders = PAPERS[name]
    if table is None:
        return Tables(name, tuple(build() for build in builders.values()))
    if table not in builders:
        raise config_error(f"`--table` must be one of {', '.join(builders)}.", table=table)
    return Tables(name, (builders[table](),))


__all__ = ["PAPERS", "Cell", "Published", "Row", "Table", "Tables", "dscnn_figures", "paper_tables"]
