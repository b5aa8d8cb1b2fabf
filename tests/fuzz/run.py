"""Coverage-guided fuzzing of one parser with atheris (libFuzzer), for ``make fuzz``.

    python tests/fuzz/run.py PARSER [SECONDS] [OUT]

Starts from the valid files of tests/hostile_inputs.seeds() plus the corpus already in ``OUT/PARSER/corpus``,
runs for SECONDS (default 60), and keeps the corpus there; an input that makes the parser raise anything but the
library's own errors, or trace more than 64 MiB, is written to ``OUT/PARSER/crash-<sha1>`` and the run fails.
Reproduce one with ``python tests/fuzz/run.py PARSER --replay OUT/PARSER/crash-...``.
"""

from __future__ import annotations

import os
import sys
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("TENSORFLUX_MAX_EXPANDED_BYTES", "16M")
PEAK_BYTES = 64 * 2**20


def main(argv: list[str]) -> int:
    """Fuzz (or replay a crash for) the parser named in ``argv``; returns the exit status.

    Example:
        python tests/fuzz/run.py npz 60 build/fuzz
    """
    import atheris

    # Every module a parser reaches, imported here: one first imported later would run uninstrumented.
    with atheris.instrument_imports(include=["tensorflux"]):
        import tensorflux  # noqa: F401 - instrumented for coverage feedback
        import tensorflux._internal.checkpoint.formats.native  # noqa: F401
        import tensorflux._internal.checkpoint.formats.npz  # noqa: F401
        import tensorflux._internal.checkpoint.formats.tf_bundle  # noqa: F401
        import tensorflux._internal.checkpoint.reader  # noqa: F401
        import tensorflux._internal.checkpoint.state  # noqa: F401
        import tensorflux.datasets.mnist  # noqa: F401
        from tests.hostile_inputs import LIBRARY_ERRORS, PARSERS, seeds

    if len(argv) < 2 or argv[1] not in PARSERS:
        print(f"usage: run.py PARSER [SECONDS] [OUT]; parsers: {', '.join(sorted(PARSERS))}", file=sys.stderr)
        return 2
    parse = PARSERS[argv[1]]

    def one_input(data: bytes) -> None:
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parse(data)
        except LIBRARY_ERRORS:
            pass
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        if peak > PEAK_BYTES:
            raise MemoryError(f"{argv[1]}: traced peak {peak / 2**20:.0f} MiB on a {len(data)}-byte input")

    if len(argv) == 4 and argv[2] == "--replay":
        one_input(Path(argv[3]).read_bytes())
        print("no crash")
        return 0
    seconds = int(argv[2]) if len(argv) > 2 else 60
    out = Path(argv[3] if len(argv) > 3 else "build/fuzz") / argv[1]
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds()[argv[1]]):
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([argv[0], str(corpus), f"-max_total_time={seconds}", f"-artifact_prefix={out}/",
                   "-rss_limit_mb=2048", "-max_len=65536", "-print_final_stats=1"], one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
