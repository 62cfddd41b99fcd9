"""sessionware-file: one file per session in a directory.

This module only re-exports the engine and the plugin hook that registers
it; the engine's operations live in ``_engine``, its write path in
``_writes``, its file handling (opening, ownership, the lock) in ``_files``,
the directory walks in ``_purge``, the on-disk layout in ``_format``, the
option checks in ``_options``.
"""

from ._engine import FileEngine
from ._format import FORMAT_VERSION, HEADER_SIZE, MAGIC
from ._hooks import register_engines

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "FileEngine",
    "__version__",
    "register_engines",
]
