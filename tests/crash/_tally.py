"""What each crash test saw: kept for its assertion and for the run's terminal summary."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """What one test saw, for the terminal summary and the assertion."""

    engine: str
    case: str
    rounds: int = 0
    kills: int = 0
    saves: int = 0
    mixes: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    writer_errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.engine}/{self.case}: {self.rounds} rounds, {self.kills} kills, "
            f"{self.saves} acknowledged saves, {len(self.mixes)} mixed, "
            f"{len(self.losses)} lost"
        )


#: Every tally of this run; ``conftest.py`` prints them at the end.
TALLIES: list[Tally] = []
