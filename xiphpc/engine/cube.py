"""The result cube of a run: partition × node × column partial sums, with named axes.

Columns follow one :class:`ColumnLayout`, which every writer and reader of the sums uses;
nodes are the groups of every aggregation level (:class:`Nodes`). A rank holds the slices of
the partitions it prices; added along a fixed tree over the partitions they give the
aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xiphpc.io.text import unique_inverse

__all__ = ["ColumnLayout", "Nodes", "PartialCube"]


@dataclass(frozen=True)
class ColumnLayout:
    """Columns of the partial sums, in order: measures, two counters, sensitivities (one per
    risk factor), historical scenarios, stresses.

    Attributes
    ----------
    measures : tuple of str
        Measures summed in the base currency.
    n_sensitivities, n_historical, n_stresses : int
        Columns of each risk block (0 when the job does not ask for it).
    """

    measures: tuple[str, ...]
    n_sensitivities: int = 0
    n_historical: int = 0
    n_stresses: int = 0

    @property
    def measure_columns(self) -> slice:
        return slice(0, len(self.measures))

    @property
    def n_trades(self) -> int:
        """Column counting the priced trades."""
        return len(self.measures)

    @property
    def n_excluded(self) -> int:
        """Column counting the excluded trades."""
        return len(self.measures) + 1

    @property
    def base(self) -> slice:
        """Measures and the two counters: the columns every run has."""
        return slice(0, len(self.measures) + 2)

    @property
    def sensitivities(self) -> slice:
        start = self.base.stop
        return slice(start, start + self.n_sensitivities)

    @property
    def historical(self) -> slice:
        start = self.sensitivities.stop
        return slice(start, start + self.n_historical)

    @property
    def stresses(self) -> slice:
        start = self.historical.stop
        return slice(start, start + self.n_stresses)

    @property
    def scenarios(self) -> slice:
        """Historical scenarios and stresses together."""
        return slice(self.historical.start, self.stresses.stop)

    @property
    def width(self) -> int:
        return self.stresses.stop


@dataclass(frozen=True)
class Nodes:
    """The nodes (groups) of every aggregation level, the same on every rank.

    Attributes
    ----------
    levels : tuple of str
        ``"total"`` first, then the job's levels.
    keys : dict of str to list of str
        Sorted node names of each level (``["all"]`` for ``"total"``).
    """

    levels: tuple[str, ...]
    keys: dict[str, list[str]]
    offset: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sizes = [len(self.keys[lv]) for lv in self.levels]
        object.__setattr__(self, "offset", np.concatenate(([0], np.cumsum(sizes))))

    @property
    def n(self) -> int:
        """Nodes of all levels together (``G``)."""
        return int(self.offset[-1])

    def rows(self, level: str) -> slice:
        """Rows of ``level``'s nodes along the node axis."""
        li = self.levels.index(level)
        return slice(int(self.offset[li]), int(self.offset[li + 1]))

    def membership(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Node row of each trade at each level.

        Parameters
        ----------
        values : dict of str to ndarray of str, shape ``(n,)`` each
            Each trade's value of every level but ``"total"``.

        Returns
        -------
        dict of str to ndarray of int64, shape ``(n,)`` each
            Rows along the node axis (offsets of the level included).
        """
        n = len(next(iter(values.values()))) if values else 0
        out = {"total": np.zeros(n, dtype=np.int64) + int(self.offset[0])}
        for lv in self.levels[1:]:
            # Look up each distinct value once: a string search per trade costs log(keys)
            # string comparisons.
            uniq, inverse = unique_inverse(values[lv])
            idx = np.searchsorted(np.array(self.keys[lv], dtype=str), uniq)
            out[lv] = idx.astype(np.int64)[inverse] + int(self.offset[self.levels.index(lv)])
        return out


@dataclass
class PartialCube:
    """Partial sums of the partitions a rank prices, folded as partitions finish.

    The sums of a partition being priced are a ``(G, C)`` block of their own
    (:meth:`of`); once it is done (:meth:`fold`), it joins the rank's *forest*: the nodes of
    the fixed reduction tree (:meth:`~xiphpc.parallel.workshare.WorkShare.tree_sum`) that the
    rank's finished partitions make whole. A node ``(k, w)`` covers partitions ``k .. k+w-1``
    (``k`` a multiple of ``w``, ``w`` a power of two) and is its left half plus its right half:
    two sibling nodes are added as soon as both are there. A rank finishing a
    stretch of consecutive partitions in order holds at most about ``2 log2(P)`` blocks for it,
    whatever the number of partitions.

    Attributes
    ----------
    nodes : Nodes
    layout : ColumnLayout
    forest : list of (int, int, ndarray)
        ``(k, w, sums)`` of the whole tree nodes held, in partition order.
    """

    nodes: Nodes
    layout: ColumnLayout
    forest: list[tuple[int, int, np.ndarray]] = field(default_factory=list, repr=False)
    _open: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(G, C)``: nodes × columns of one block."""
        return (self.nodes.n, self.layout.width)

    def of(self, partition: int) -> np.ndarray:
        """The ``(G, C)`` sums of a partition being priced, not yet folded (zeros at first)."""
        if partition not in self._open:
            self._open[partition] = np.zeros(self.shape)
        return self._open[partition]

    def fold(self, partition: int) -> None:
        """Add a finished partition to the forest, adding sibling nodes as they complete."""
        self.forest.append((partition, 1, self._open.pop(partition, None)))
        if self.forest[-1][2] is None:
            self.forest[-1] = (partition, 1, np.zeros(self.shape))
        while len(self.forest) >= 2:
            (k1, w1, left), (k2, w2, right) = self.forest[-2:]
            if not (w1 == w2 and k1 % (2 * w1) == 0 and k2 == k1 + w1):
                break
            self.forest[-2:] = [(k1, 2 * w1, left + right)]
