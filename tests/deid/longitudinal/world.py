"""Small random longitudinal releases for the tests: persons, visits and diagnoses.

``draw_world`` makes the source tables; ``spec_for`` a release spec over them
(with a ``release.events`` model); ``searcher_for`` the engine's search over the
same data, built the way a build builds it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from deid.anonymize import count_batch
from deid.longitudinal.release import LongitudinalPlanner
from deid.longitudinal.search import LongitudinalSearch
from deid.longitudinal.store import LongitudinalData
from deid.plan import ReleasePlan, compile_plan
from deid.search import prepare

CODES = ["A1", "A2", "A3", "B1", "B2", "C1"]
CODE_ROWS = [[c, c[0], "*"] for c in CODES]
KINDS = ["out", "in", "er"]


def draw_world(
    seed: int, persons: int, max_visits: int = 4, max_dx: int = 3
) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    ids = list(range(1, persons + 1))
    person = pa.table(
        {
            "person_id": pa.array(ids, pa.int64()),
            "sex": [rng.choice("MF") for _ in ids],
            "age": pa.array([rng.randint(20, 79) for _ in ids], pa.int64()),
        }
    )
    v_rows: list[tuple[int, int, str, str]] = []
    d_rows: list[tuple[int, int, str]] = []
    for p in ids:
        for _ in range(rng.randint(0, max_visits)):
            v_rows.append((len(v_rows) + 1, p, rng.choice(KINDS), rng.choice(CODES)))
        for _ in range(rng.randint(0, max_dx)):
            d_rows.append((1000 + len(d_rows), p, rng.choice(CODES)))
    visit = pa.table(
        {
            "visit_id": pa.array([r[0] for r in v_rows], pa.int64()),
            "person_id": pa.array([r[1] for r in v_rows], pa.int64()),
            "kind": pa.array([r[2] for r in v_rows], pa.string()),
            "site": pa.array([r[3] for r in v_rows], pa.string()),
        }
    )
    dx = pa.table(
        {
            "dx_id": pa.array([r[0] for r in d_rows], pa.int64()),
            "person_id": pa.array([r[1] for r in d_rows], pa.int64()),
            "code": pa.array([r[2] for r in d_rows], pa.string()),
        }
    )
    return {"person": person, "visit": visit, "dx": dx}


def spec_for(
    *, k: int = 3, m: int = 2, limit: float = 0.6, min_kept: float = 0.0, anchor_limit: float = 0.2
) -> dict[str, Any]:
    pid = {"role": "identifier", "transform": "pseudonymize", "domain": "person"}
    return {
        "release": {
            "anchor": "person",
            "link_column": "person_id",
            "person_domain": "person",
            "events": {
                "m": m,
                "suppression_limit": limit,
                "min_kept_share": min_kept,
                "tables": {
                    "visit": {"id": "visit_id", "known": ["kind", "site"]},
                    "dx": {"id": "dx_id", "known": ["code"]},
                },
            },
        },
        "tables": {
            "person": {
                "policy": {
                    "columns": {
                        "person_id": pid,
                        "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                        "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [20]}},
                    },
                    "privacy": {"k": k, "suppression_limit": anchor_limit, "metric": "loss"},
                }
            },
            "visit": {
                "policy": {
                    "columns": {
                        "visit_id": {
                            "role": "identifier",
                            "transform": "pseudonymize",
                            "domain": "visit",
                        },
                        "person_id": pid,
                        "kind": {"role": "quasi", "hierarchy": {"type": "flat"}},
                        "site": {
                            "role": "quasi",
                            "hierarchy": {"type": "table", "rows": CODE_ROWS},
                        },
                    }
                }
            },
            "dx": {
                "policy": {
                    "columns": {
                        "dx_id": {"role": "identifier", "transform": "drop"},
                        "person_id": pid,
                        "code": {
                            "role": "quasi",
                            "hierarchy": {"type": "table", "rows": CODE_ROWS},
                        },
                    }
                }
            },
        },
    }


def write_world(world: dict[str, pa.Table], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in world.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def plan_for(spec: dict[str, Any], key_id: str, source: str, release_id: str = "R") -> ReleasePlan:
    return compile_plan(
        spec,
        release_id=release_id,
        recipient_org_id="ORG",
        key_id=key_id,
        source=source,
        created_at="2026-12-01T00:00:00+00:00",
    )


def searcher_for(world: dict[str, pa.Table], plan: ReleasePlan) -> LongitudinalSearch:
    """The engine's search over ``world``, fed the way a build feeds it (no date shift)."""
    assert plan.events is not None
    planner = LongitudinalPlanner(plan, plan.events)
    policy = planner.anchor_spec.policy
    person = world["person"].to_batches()[0]
    freq = count_batch(person, policy)
    planner.anchor.add(person)
    for name, collector in planner.collectors.items():
        for batch in world[name].to_batches():
            collector.add(batch)
    problem = prepare(freq, policy)
    collected = [(name, *c.finish()) for name, c in planner.collectors.items()]
    data = LongitudinalData.build(
        planner.anchor.finish(problem.mats), planner.qi, problem.mats, collected
    )
    ev = plan.events
    return LongitudinalSearch(
        data,
        problem,
        k=ev.k if ev.k is not None else policy.privacy.k,
        m=ev.m,
        suppression_limit=ev.suppression_limit,
        min_kept_share=ev.min_kept_share,
    )
