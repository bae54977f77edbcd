"""How the recipe's processes use the CPU's cores.

Debian's torch runs its matrix products on whatever libblas.so.3 is; when that is OpenBLAS (the
project installs its pthread build: scripts/install-deps.sh), OpenBLAS keeps a thread pool of its
own beside torch's intra-op pool, and the two together oversubscribe the cores. Measured on 2
cores, a training step of the cpu preset: torch 2 + OpenBLAS 2 threads 455 samples/s; torch 1 +
OpenBLAS 2: 1,300; torch 2 + OpenBLAS 1: 1,150. The matrix products dominate, so OpenBLAS gets the
cores and torch's pool one thread. Without OpenBLAS (a pip wheel with MKL, a GPU machine), torch
gets them.
"""

import ctypes
from typing import Optional

import torch


def _openblas() -> Optional[ctypes.CDLL]:
    try:
        blas = ctypes.CDLL("libblas.so.3")  # the one torch already loaded, if any
        blas.openblas_set_num_threads  # noqa: B018  (raises AttributeError elsewhere)
        return blas
    except (OSError, AttributeError):
        return None


def set_threads(threads: int) -> str:
    """Uses `threads` cores (0: leave the defaults); returns what it set, for the log."""
    if threads <= 0:
        return f"threads: torch {torch.get_num_threads()} (default)"
    blas = _openblas()
    if blas is None:
        torch.set_num_threads(threads)
        return f"threads: torch {threads}"
    blas.openblas_set_num_threads(threads)
    torch.set_num_threads(1)
    return f"threads: OpenBLAS {threads}, torch intra-op 1"
