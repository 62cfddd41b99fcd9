"""The comparisons' scenarios: what each ``bench/compare_*.py`` measures, one file a part.

A ``compare_*.py`` script is the entry point (its flags, its JSON for ``report.py``);
the modules here declare the contenders, operations and tables of one part of it, and
leave warm-up, interleaving, medians and output to ``bench/harness``.
"""
