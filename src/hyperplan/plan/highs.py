"""A silent HiGHS instance: the one place a :class:`highspy.Highs` is made (the solve, the
progress probe and the benchmarks all start from here)."""

from __future__ import annotations

import os
import sys

import highspy

_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent Highs instance (HiGHS prints a banner to fd 1 the first time; hide it)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h
