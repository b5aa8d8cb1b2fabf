"""Cycles, utilization and memory traffic of one GEMM or convolution on a systolic array, in closed form.

The counts are SCALE-Sim 3.0.0's (``pip install scalesim``), derived from how it lays a layer out in time
instead of running its cycle-by-cycle traces, so a layer costs microseconds instead of its tenths of a
second. docs/tpu-cycle-model.md derives every formula; tests/plugins/tpu_sim/test_systolic.py runs
SCALE-Sim itself on the same layers and compares.

Every layer is first written as SCALE-Sim writes it, an im2col GEMM: ``P`` output pixels (rows of the
ifmap operand), a window of ``W = filter_h * filter_w * channels`` (its columns) and ``N`` filters. The
dataflow then picks which two of these are spread over the array's rows and columns (``Sr``, ``Sc``) and
which one streams through it in time (``T``):

========  ======  ======  ======
dataflow  Sr      Sc      T
========  ======  ======  ======
``os``    P       N       W
``ws``    W       N       P
``is``    W       P       N
========  ======  ======  ======

The layer runs as ``ceil(Sr/R) * ceil(Sc/C)`` folds on an ``R x C`` array, one after the other, each
``R + C + T - 2`` cycles long (output stationary) or ``2R + C + T - 2`` (weight and input stationary, which
first load the stationary operand, ``R`` cycles). Cycles = folds x fold length - 1.

Traffic is counted in words (one operand element; SCALE-Sim's word is one byte, so its byte counts are
these). SRAM counts are exact, and so are DRAM reads of GEMMs and of every filter. A convolution's ifmap
DRAM reads and the ofmap DRAM writes are exact while they fit their SRAM, estimates past that
(``LayerCost.dram_exact`` says which).

Example:
    >>> cost = gemm_cost(20, 12, 10, ArrayConfig(8, 8, "ws"))
    >>> cost.cycles, cost.macs
    (167, 2400)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DATAFLOWS = ("os", "ws", "is")

# SCALE-Sim's estimate-bandwidth (CALC) mode fills its read SRAMs at this many words per cycle before the
# first compute cycle (only `cycles_incl_prefetch` uses it).
_PREFETCH_WORDS_PER_CYCLE = 10


@dataclass(frozen=True)
class ArrayConfig:
    """A systolic array as SCALE-Sim configures one: ``rows x cols`` MACs, a dataflow and three SRAMs.

    The SRAM sizes (KiB; a word is a byte, as SCALE-Sim counts) change only the DRAM traffic and the
    prefetch time, never the compute cycles. The defaults are SCALE-Sim's own.

    Example:
        >>> ArrayConfig(128, 128, "ws").macs_per_cycle
        16384
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    ifmap_sram_kb: int = 256
    filter_sram_kb: int = 256
    ofmap_sram_kb: int = 128

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ValueError(f"ArrayConfig.dataflow must be one of {DATAFLOWS}, got {self.dataflow!r}")
        for name in ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ArrayConfig.{name} must be a positive int, got {value!r}")

    @property
    def macs_per_cycle(self) -> int:
        """Multiply-accumulates the whole array can do in one cycle: ``rows * cols``."""
        return self.rows * self.cols


@dataclass(frozen=True)
class LayerCost:
    """What one layer costs on one array, in SCALE-Sim's terms. Traffic in words (operand elements).

    - ``cycles``: SCALE-Sim's ``Total Cycles`` (compute; its CALC mode never stalls).
    - ``utilization``: its overall utilization, ``macs / (cycles * rows * cols)``, as a fraction;
      ``mapping_efficiency`` and ``compute_utilization``: its per-fold averages, fractions too.
    - ``macs``: ``P * W * N``, counting the array slots of windows that hang over the ifmap's edge.
    - ``sram_reads`` = ``ifmap_sram_reads + filter_sram_reads``; ``sram_writes``: ofmap SRAM writes as
      SCALE-Sim reports them (for output stationary it adds ``rows + cols`` per fold).
    - ``dram_reads`` = ``ifmap_dram_reads + filter_dram_reads``; ``dram_writes``: ofmap DRAM writes.
    - ``dram_exact``: whether the DRAM figures are SCALE-Sim's exact counts (else this model's estimate).
    - ``fits_sram``: whether every operand fits its SRAM's working half; ``cycles_incl_prefetch`` (SCALE-Sim's
      ``Total Cycles (incl. prefetch)``: compute plus the initial SRAM fill and the final ofmap drain) is
      exact only then.
    """

    cycles: int
    utilization: float
    macs: int
    sram_reads: int
    sram_writes: int
    dram_reads: int
    dram_writes: int
    mapping_efficiency: float
    compute_utilization: float
    folds: int
    ifmap_sram_reads: int
    filter_sram_reads: int
    ifmap_dram_reads: int
    filter_dram_reads: int
    cycles_incl_prefetch: int
    dram_exact: bool
    fits_sram: bool


def gemm_cost(m: int, n: int, k: int, array: ArrayConfig) -> LayerCost:
    """Cost of ``[m, k] @ [k, n]`` on ``array`` (SCALE-Sim's GEMM topology row ``M, N, K``).

    Example:
        >>> gemm_cost(128, 64, 256, ArrayConfig(32, 32, "os")).cycles
        2543
    """
    _check_dims("gemm_cost", ("m", "n", "k"), (m, n, k))
    # SCALE-Sim runs a GEMM as an m x k "image" under a 1 x k filter: every ifmap word is used once.
    return _cost(m, k, n, m * k, m * k, array)


def conv_cost(ifmap_h: int, ifmap_w: int, filter_h: int, filter_w: int, channels: int, num_filters: int,
              stride: int, array: ArrayConfig) -> LayerCost:
    """Cost of a convolution of one ``ifmap_h x ifmap_w x channels`` image (SCALE-Sim's conv topology row).

    Padding is the caller's (pass the padded size for SAME), and so is the batch: SCALE-Sim runs batch 1.
    Its output is ``ceil((ifmap - filter) / stride) + 1`` pixels a side: where the stride does not divide
    ``ifmap - filter`` a last window hangs over the edge. For TensorFlow's VALID output size pass the ifmap
    cut to ``(out - 1) * stride + filter``.

    Example:
        >>> conv_cost(7, 7, 3, 3, 192, 384, 1, ArrayConfig(32, 32, "ws")).folds
        648
    """
    _check_dims("conv_cost", _CONV_ARGS, (ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride))
    if filter_h > ifmap_h or filter_w > ifmap_w:
        raise ValueError(f"conv_cost: filter {filter_h}x{filter_w} is larger than the ifmap {ifmap_h}x{ifmap_w}; "
                         "pad the ifmap first")
    out_h = _ceil(ifmap_h - filter_h, stride) + 1
    out_w = _ceil(ifmap_w - filter_w, stride) + 1
    # The distinct ifmap words some window reads (a stride wider than the filter skips rows), and the im2col
    # slots that hold a real word (the overhanging window's missing words are empty slots).
    rows, row_slots = _covered(ifmap_h, filter_h, stride, out_h)
    cols, col_slots = _covered(ifmap_w, filter_w, stride, out_w)
    return _cost(out_h * out_w, filter_h * filter_w * channels, num_filters, rows * cols * channels,
                 row_slots * col_slots * channels, array)


def _covered(size: int, window: int, stride: int, windows: int) -> tuple[int, int]:
    """``(rows read, window rows inside the ifmap)`` of ``windows`` windows of ``window`` rows at ``stride``
    over an ifmap of ``size`` rows.

    Every window but the last lies wholly inside the ifmap (SCALE-Sim's output size guarantees it): it
    reads ``min(stride, window)`` rows no later window reads again, and has ``window`` rows inside. The
    last has what of it lies inside, and reads all of that.
    """
    last = max(0, min(window, size - (windows - 1) * stride))
    return (windows - 1) * min(stride, window) + last, (windows - 1) * window + last


_CONV_ARGS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")


def _check_dims(op: str, names: tuple, values: tuple) -> None:
    for name, value in zip(names, values):
        if type(value) is not int or value < 1:  # `type is`: a bool is no dimension
            raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _cost(pixels: int, window: int, filters: int, ifmap_distinct: int, ifmap_slots: int,
          array: ArrayConfig) -> LayerCost:
    """The shared model: a ``pixels x window`` ifmap operand times a ``window x filters`` filter operand."""
    r, c, df = array.rows, array.cols, array.dataflow
    if df == "os":
        sr, sc, t = pixels, filters, window
        fold_cycles = r + c + t - 2
        util_cycles = fold_cycles  # the fold length SCALE-Sim divides by in its per-fold utilization...
    else:
        sr, sc, t = (window, filters, pixels) if df == "ws" else (window, pixels, filters)
        fold_cycles = 2 * r + c + t - 2
        util_cycles = 2 * r + 2 * c + t - 3  # ...which for ws and is it counts c - 1 cycles longer
    row_folds, col_folds = _ceil(sr, r), _ceil(sc, c)
    folds = row_folds * col_folds
    cycles = folds * fold_cycles - 1
    macs = pixels * window * filters
    mapped = sr * sc  # the PEs that hold a real element, summed over folds
    filter_words, ofmap_words = window * filters, pixels * filters

    if df == "os":
        ifmap_sram = col_folds * pixels * window       # every filter-column fold streams the ifmap again
        filter_sram = row_folds * filter_words         # every pixel-row fold streams its filters again
        ofmap_writes = ofmap_words                     # outputs leave the array once, finished
        ofmap_sram = ofmap_words + folds * (r + c)     # SCALE-Sim's count adds each fold's padded height + width
    elif df == "ws":
        ifmap_sram = col_folds * pixels * window
        filter_sram = filter_words                     # each weight is loaded once
        ofmap_writes = ofmap_sram = row_folds * ofmap_words  # a partial sum per window-row fold
    else:
        ifmap_sram = pixels * window                   # each im2col element is loaded once
        filter_sram = col_folds * filter_words
        ofmap_writes = ofmap_sram = row_folds * ofmap_words

    # SCALE-Sim tracks a read SRAM as 100 sets of 1% of its words; half of them are the working buffer.
    ifmap_set, filter_set = array.ifmap_sram_kb * 1024 // 100, array.filter_sram_kb * 1024 // 100
    ifmap_dram, ifmap_exact = _ifmap_dram_reads(df, ifmap_distinct, ifmap_slots, col_folds, 50 * ifmap_set)
    filter_dram = _filter_dram_reads(df, window, filters, row_folds, col_folds, c, 50 * filter_set)
    ifmap_fits = ifmap_distinct < 50 * ifmap_set
    filter_fits = filter_words < 50 * filter_set
    # The ofmap SRAM drains to DRAM mid-layer once more than half of it is full; a drain can pad a partial
    # line, which SCALE-Sim counts as written and this model does not.
    ofmap_fits = ofmap_writes <= array.ofmap_sram_kb * 1024 // 2

    # SCALE-Sim's "incl. prefetch" figure: before cycle 0 the read SRAMs fill, 10 words a cycle, in whole
    # sets of 1% of the SRAM (all 50 sets of the working half when the operand overflows it); after the last
    # cycle the ofmap SRAM drains one line of `cols` words a cycle.
    prefetch = max(_prefetch_cycles(ifmap_distinct, ifmap_set), _prefetch_cycles(filter_words, filter_set))
    tail = ofmap_writes if ofmap_fits else (ofmap_writes - 1) % (array.ofmap_sram_kb * 512) + 1
    # A frozen dataclass's __init__ sets its 17 fields one object.__setattr__ at a time, half of this call's
    # time; filling the instance's dict makes the same object (equality, repr, frozen) in a fraction of it.
    cost = object.__new__(LayerCost)
    cost.__dict__.update(
        cycles=cycles, utilization=macs / (cycles * r * c), macs=macs,
        sram_reads=ifmap_sram + filter_sram, sram_writes=ofmap_sram,
        dram_reads=ifmap_dram + filter_dram, dram_writes=ofmap_writes,
        mapping_efficiency=mapped / (folds * r * c), compute_utilization=mapped * t / (folds * r * c * util_cycles),
        folds=folds, ifmap_sram_reads=ifmap_sram, filter_sram_reads=filter_sram,
        ifmap_dram_reads=ifmap_dram, filter_dram_reads=filter_dram,
        cycles_incl_prefetch=cycles - 1 + _ceil(tail, c) + prefetch,
        dram_exact=ifmap_exact and ofmap_fits, fits_sram=ifmap_fits and filter_fits and ofmap_fits)
    return cost


def _prefetch_cycles(words: int, set_words: int) -> int:
    return _ceil(min(_ceil(words, set_words), 50) * set_words, _PREFETCH_WORDS_PER_CYCLE)


# DRAM reads. SCALE-Sim's read SRAM remembers the distinct words it has fetched until its working half
# (50 sets) is full, then forgets them all at once. An operand that fits is therefore fetched once. One that
# does not is fetched again by every later fold that streams words the working half no longer holds.

def _ifmap_dram_reads(df: str, distinct: int, slots: int, col_folds: int, working: int) -> tuple[int, bool]:
    """``(DRAM reads of the ifmap, exact?)`` through a working half of ``working`` words."""
    if distinct < working or df == "is" and distinct == slots:
        # ...fetched once (is streams each im2col element once; with no window overlap, each word once).
        return distinct, True
    # ws and os stream the whole ifmap once per filter-column fold, in the same order each time: a cyclic
    # sweep over more words than the working half misses on every word of every sweep.
    sweeps = 1 if df == "is" else col_folds
    if distinct == slots:
        return sweeps * distinct, True
    # Overlapping windows read a word several times, and whether a repeat still finds it depends on how
    # far apart the reads fall in SCALE-Sim's trace. Output stationary reads a fold's pixels window by
    # window, so repeats fall close together (about one fetch per word and sweep); the other two read them
    # a fold of pixels apart: estimated between one fetch per word and one per slot. docs/tpu-cycle-model.md
    # gives the measured error.
    per_sweep = distinct if df == "os" else math.isqrt(distinct * slots)
    return sweeps * per_sweep, False


def _filter_dram_reads(df: str, window: int, filters: int, row_folds: int, col_folds: int, cols: int,
                       working: int) -> int:
    """DRAM reads of the filter operand; exact (every filter word is distinct, and its order is regular)."""
    words = window * filters
    if words < working or df == "ws" or df == "os" and row_folds == 1:
        return words  # fits, or every word is streamed once
    if df == "is":
        return col_folds * words  # a cyclic sweep per pixel-column fold, each missing throughout
    # Output stationary streams column fold j's filter block (window x cols words) row_folds times in a row.
    full, last = divmod(filters, cols)
    return _repeated_blocks_misses(full, window * cols, row_folds, working, window * last)


def _repeated_blocks_misses(blocks: int, block: int, repeats: int, working: int, last_block: int) -> int:
    """Fetches of ``blocks`` disjoint blocks of ``block`` words, each streamed ``repeats >= 2`` times in a row
    in the same order, then of one block of ``last_block`` words (0: none), through a working half of
    ``working`` words that is forgotten whenever it fills.

    A block's first sweep fetches all of it, and if the working half does not fill meanwhile, the later
    sweeps find it all. If it fills (and is forgotten) partway, ``w`` words into the block, the next
    ``block`` reads all miss, fetching the block once more, after which it is held: ``w`` extra fetches.
    A block at least as large as the working half misses on every read.
    """
    if block >= working:
        total = blocks * block * repeats
        held = total % working
    else:
        # Words held when each block starts go 0, b, 2b, ... up to q*b, the first point with no room for a
        # whole block; that block costs (working - q*b) extra fetches and leaves b held. So the first flush
        # comes at block q + 1, then one every q blocks.
        q = _ceil(working, block) - 1
        flushes = 0 if blocks < q + 1 else 1 + (blocks - q - 1) // q
        total = blocks * block + flushes * (working - q * block)
        held = blocks * block if flushes == 0 else block + (blocks - q - 1) % q * block
    if last_block >= working:
        total += last_block * repeats
    elif last_block:
        free = working - held
        total += last_block if free > last_block else free + last_block
    return total
