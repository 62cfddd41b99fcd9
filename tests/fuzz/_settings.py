"""The two budgets of the fuzz suite, and the decorator every property wears.

``SESSIONWARE_FUZZ=ci`` (the default) runs each property a few hundred times,
derandomized, so the suite is reproducible and takes seconds; ``nox -s fuzz``
sets ``SESSIONWARE_FUZZ=fuzz``: at least 100,000 examples per property
(``SESSIONWARE_FUZZ_EXAMPLES`` raises or lowers that), in Hypothesis runs of 1,000 with a
fresh random seed each.
Neither writes a ``.hypothesis`` database into the checkout: a failure prints
the falsifying example, which is what a report needs.

:func:`fuzz` also counts the examples each property really ran, so the fuzz
session can print them (``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, overload

from hypothesis import HealthCheck, settings

__all__ = ["BUDGET", "COUNTS", "PROFILE", "fuzz"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Examples each property ran in this process, by ``module::test``.
COUNTS: Counter[str] = Counter()

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "sessionware-fuzz-ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "sessionware-fuzz",
    max_examples=int(os.environ.get("SESSIONWARE_FUZZ_EXAMPLES", "100000")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[*_QUIET, HealthCheck.filter_too_much],
)

#: Examples per Hypothesis run under the fuzz budget (see :func:`fuzz`); ``SESSIONWARE_FUZZ_RUN``.
#: Measured: 10,000-example runs cost ~10 ms an example and ~850 MB, 1,000-example runs ~2 ms.
RUN_EXAMPLES = int(os.environ.get("SESSIONWARE_FUZZ_RUN", "1000"))

#: ``"ci"`` or ``"fuzz"``.
BUDGET = os.environ.get("SESSIONWARE_FUZZ", "ci")
if BUDGET not in ("ci", "fuzz"):
    raise RuntimeError(f"SESSIONWARE_FUZZ={BUDGET!r}: expected 'ci' or 'fuzz'")
#: The settings every property runs with (never loaded globally: other tests keep theirs).
PROFILE = settings.get_profile("sessionware-fuzz" if BUDGET == "fuzz" else "sessionware-fuzz-ci")


@overload
def fuzz(test: _F) -> _F: ...
@overload
def fuzz(*, ci_share: float) -> Callable[[_F], _F]: ...
def fuzz(test: _F | None = None, *, ci_share: float = 1.0) -> Any:
    """Apply the fuzz budget to a ``@given`` test and count the examples it runs.

    ``@fuzz`` or ``@fuzz(ci_share=0.3)``: a property whose examples cost
    tens of milliseconds (real I/O through every engine) runs that share of
    the CI budget, so the CI suite stays fast; the fuzz session gives every
    property its full budget.
    """
    if test is None:
        return functools.partial(fuzz, ci_share=ci_share)
    name = f"{test.__module__.rpartition('.')[2]}::{test.__name__}"
    inner = test.hypothesis.inner_test  # type: ignore[attr-defined]

    @functools.wraps(inner)
    def counted(*args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        return inner(*args, **kwargs)

    test.hypothesis.inner_test = counted  # type: ignore[attr-defined]
    if BUDGET == "ci":
        examples = max(1, int(PROFILE.max_examples * ci_share))
        return settings(PROFILE, max_examples=examples)(test)
    # Hypothesis remembers every example of a run to steer away from repeats; over 100,000
    # examples that memory reaches gigabytes and each new example costs more than the last.
    # Many shorter runs, each with a fresh memory and seed, cover the same budget.
    runs = -(-PROFILE.max_examples // RUN_EXAMPLES)
    each = settings(PROFILE, max_examples=min(PROFILE.max_examples, RUN_EXAMPLES))(test)

    @functools.wraps(each)
    def repeated(*args: Any, **kwargs: Any) -> None:
        for _ in range(runs):
            each(*args, **kwargs)

    return repeated
