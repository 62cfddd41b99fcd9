"""Fixtures for the kit's own tests.

The reference engine is ``sessionware.testing.MemoryEngine``; the broken
variants the teeth tests run the kit against are in ``engines.py`` (imported
relatively, ``from .engines import ...``).
"""
