"""Re-identification risk of released equivalence classes.

- prosecutor: the attacker knows the person is in the release; a record's
  risk is 1 / (size of its class).
- journalist: the attacker links against a population; a record's risk is
  1 / (size of its class in the population table).
- marketer: the expected share of records re-identified by linking every
  record, = mean over records of 1 / (population class size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def _summary(sizes: npt.NDArray[np.float64], weights: IntArray, threshold: float) -> dict[str, Any]:
    total = float(weights.sum())
    if total == 0:
        return {
            "highest": 0.0,
            "average": 0.0,
            "records_above_threshold": 0.0,
            "threshold": threshold,
        }
    risk = 1.0 / sizes
    above = float(weights[risk > threshold + 1e-15].sum()) / total
    return {
        "highest": float(risk.max()),
        "average": float((risk * weights).sum() / total),
        "records_above_threshold": above,
        "threshold": threshold,
    }


def prosecutor_risk(sizes: IntArray, threshold: float) -> dict[str, Any]:
    """Highest, average (= classes / records) and share of records above ``threshold``."""
    return _summary(sizes.astype(np.float64), sizes, threshold)


def population_risk(
    sample_sizes: IntArray, population_sizes: IntArray, threshold: float
) -> dict[str, Any]:
    """Journalist and marketer risk: ``population_sizes[i]`` is the population count of class i.

    A population count below the sample count (the population table misses
    people of the release) is raised to the sample count.
    """
    pop = np.maximum(population_sizes, sample_sizes).astype(np.float64)
    journalist = _summary(pop, sample_sizes, threshold)
    total = float(sample_sizes.sum())
    marketer = float((sample_sizes / pop).sum() / total) if total else 0.0
    return {"journalist": journalist, "marketer": {"average": marketer}}
