"""Clinical thresholds, in one place.

These are defaults the project's clinical rules took from the treatment guide they cite
(docs/clinical-sources.md). `mappings` uses the time windows; `cards` uses the rest. Change a
number here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    # Back-pain duration: acute below this many days, subacute/chronic from it on (4 weeks).
    chronic_after_days: int = 28
    # Imaging is not routinely indicated before this many days without red flags (6 weeks).
    imaging_after_days: int = 42
    # eGFR and pain scores older than this are treated as unknown (12 months).
    observation_max_age_days: int = 365
    # NSAIDs: avoid at or above this age, below these eGFRs (mL/min/1.73m2).
    older_adult_age: int = 65
    egfr_reduced: float = 60.0
    egfr_severe: float = 30.0
    # Maximum daily doses quoted in advice text (the checks read dose_limits.csv, which a test
    # keeps in step with these).
    acetaminophen_max_mg_per_day: int = 4000
    tizanidine_max_mg_per_day: int = 36
    # The service advises on adults: below this age, no adult doses are suggested.
    adult_age: int = 18
    # A pregnancy record further back than this many weeks is a past pregnancy.
    pregnancy_max_weeks: int = 42
    # A breastfeeding record counts for this many days.
    lactation_window_days: int = 365


THRESHOLDS = Thresholds()
