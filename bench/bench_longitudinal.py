"""Release-level privacy at scale: the (k, k^m) build on 10 M events against today's build.

Both builds read the same synthetic Parquet source (persons, visits, diagnoses) and
write the same tables:

- ``baseline``: the release build without a threat model (k on the demographics;
  visits and diagnoses generalized to fixed levels: month, ICD-10 category);
- ``longitudinal``: the same release with ``release.events`` (k = 5, m = 2 over
  visits and diagnoses): the event pass, the joint search with local suppression,
  the transform, and the independent measurement of the written files.

    python -m bench.bench_longitudinal                    # 10 M events (about 1.2 M persons)
    python -m bench.bench_longitudinal --events 1000000   # quick

Each build runs in a child process; peak memory is its maximum RSS (``wait4``).
Prints seconds, events/s, peak MB and the ratios longitudinal / baseline measured
in the same run, and the longitudinal build's search figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
ROW_GROUP = 131_072

SIGUNGU = [
    "춘천시",
    "원주시",
    "강릉시",
    "동해시",
    "태백시",
    "속초시",
    "삼척시",
    "홍천군",
    "횡성군",
    "영월군",
]
ICD10 = [
    "E11.9", "E11.6", "I10", "I25.1", "J45.9", "K21.0", "M54.5", "N18.3", "F32.9", "C34.1",
    "E78.5", "I48.9", "J44.1", "K29.7", "M17.1", "G47.3", "L40.0", "H25.9", "D50.9", "B18.1",
]  # fmt: skip
SITE_ROWS = [[str(i + 1), SIGUNGU[i // 2 * 2], "*"] for i in range(10)]
VISITS_PER_PERSON = 6
DX_PER_PERSON = 2.5


def spec(longitudinal: bool) -> dict[str, Any]:
    pid = {"role": "identifier", "transform": "pseudonymize", "domain": "person"}
    date = {"role": "quasi", "date_shift": True}
    visit_date = {**date, "hierarchy": {"type": "date", "levels": ["month", "quarter", "year"]}}
    dx_code = {
        "role": "quasi",
        "hierarchy": {"type": "icd10", "levels": ["category", "chapter"]},
        "options": {"level": 1},
    }
    out: dict[str, Any] = {
        "release": {
            "anchor": "person",
            "link_column": "person_id",
            "person_domain": "person",
            "date_shift": {"max_days": 30, "allow_zero": False},
        },
        "tables": {
            "person": {
                "policy": {
                    "columns": {
                        "person_id": pid,
                        "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                        "year_of_birth": {
                            "role": "quasi",
                            "hierarchy": {"type": "interval", "widths": [10, 20]},
                        },
                        "region": {
                            "role": "quasi",
                            "hierarchy": {"type": "kr_region", "from": "sigungu"},
                        },
                    },
                    "privacy": {"k": 5, "suppression_limit": 0.05, "metric": "loss"},
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
                        "visit_type": {"role": "quasi", "hierarchy": {"type": "flat"}},
                        "visit_date": {**visit_date, "options": {"level": 0}},
                        "care_site": {
                            "role": "quasi",
                            "hierarchy": {"type": "table", "rows": SITE_ROWS},
                        },
                    }
                }
            },
            "dx": {
                "policy": {
                    "columns": {
                        "dx_id": {
                            "role": "identifier",
                            "transform": "pseudonymize",
                            "domain": "dx",
                        },
                        "person_id": pid,
                        "dx_date": {**visit_date, "options": {"level": 0}},
                        "icd10": dx_code,
                    }
                }
            },
        },
    }
    if longitudinal:
        out["release"]["events"] = {
            "m": 2,
            "k": 5,
            "suppression_limit": 0.3,
            "min_kept_share": 0.5,
            "tables": {
                "visit": {"id": "visit_id", "known": ["visit_type", "visit_date", "care_site"]},
                "dx": {"id": "dx_id", "known": ["dx_date", "icd10"]},
            },
        }
        for t in ("visit", "dx"):
            cols = out["tables"][t]["policy"]["columns"]
            for c in cols.values():
                opts = c.get("options")
                if opts is not None and opts.get("level") == 0:
                    c.pop("options")  # the search chooses the level
        out["tables"]["dx"]["policy"]["columns"]["icd10"]["options"] = {"level": 1, "max_level": 1}
    else:
        # today's release: fixed levels; visit type and site are not quasi-identifiers
        cols = out["tables"]["visit"]["policy"]["columns"]
        cols["visit_type"] = {"role": "insensitive"}
        cols["care_site"] = {"role": "insensitive"}
    return copy.deepcopy(out)


def generate(folder: Path, events: int, *, seed: int = 3) -> None:
    """Persons with visits and diagnoses (about ``events`` rows in all)."""
    rng = np.random.default_rng(seed)
    persons = max(1, int(events / (VISITS_PER_PERSON + DX_PER_PERSON)))
    pid = np.arange(1, persons + 1, dtype=np.int64)
    region = pa.array([f"강원특별자치도 {s}" for s in SIGUNGU]).take(
        pa.array(rng.integers(0, len(SIGUNGU), persons))
    )
    pq.write_table(
        pa.table(
            {
                "person_id": pid,
                "sex": pa.array(np.where(rng.random(persons) < 0.5, "M", "F")),
                "year_of_birth": rng.integers(1930, 2006, persons).astype(np.int64),
                "region": region,
            }
        ),
        folder / "person.parquet",
        row_group_size=ROW_GROUP,
    )
    start = np.datetime64("2018-01-01")
    days = 8 * 365

    def table(n_per: float, name: str, make: Any) -> None:
        counts = rng.poisson(n_per, persons)
        owner = np.repeat(pid, counts)
        n = len(owner)
        dates = pa.array(start + rng.integers(0, days, n).astype("timedelta64[D]"), pa.date32())
        pq.write_table(make(n, owner, dates), folder / f"{name}.parquet", row_group_size=ROW_GROUP)

    table(
        VISITS_PER_PERSON,
        "visit",
        lambda n, owner, dates: pa.table(
            {
                "visit_id": np.arange(n, dtype=np.int64) + 1,
                "person_id": owner,
                "visit_type": pa.array(["outpatient", "inpatient", "emergency"]).take(
                    pa.array(rng.choice(3, n, p=[0.8, 0.12, 0.08]))
                ),
                "visit_date": dates,
                "care_site": pa.array([str(i + 1) for i in range(10)]).take(
                    pa.array(rng.integers(0, 10, n))
                ),
            }
        ),
    )
    table(
        DX_PER_PERSON,
        "dx",
        lambda n, owner, dates: pa.table(
            {
                "dx_id": np.arange(n, dtype=np.int64) + 1,
                "person_id": owner,
                "dx_date": dates,
                "icd10": pa.array(ICD10).take(pa.array(rng.zipf(1.6, n) % len(ICD10))),
            }
        ),
    )


def _dataset(data_dir: Path, events: int) -> Path:
    folder = data_dir / f"longitudinal-v1-{events}"
    if not (folder / "dx.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        generate(folder, events)
        print(
            f"  generated about {events:,} events in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
    return folder


def _child(args: argparse.Namespace) -> None:
    from deid.engines.local import build_release_local
    from deid.keys import KeyStore, generate_master_key_file
    from deid.plan import compile_plan
    from deid.sources.files import ParquetSource

    work = Path(args.work)
    master = generate_master_key_file(work / "keys" / "master.key", overwrite=True)
    store = KeyStore(work / "keys", master)
    key_id = store.create_release_key(release_id="bench", recipient_org_id="org")
    plan = compile_plan(
        spec(args.kind == "longitudinal"),
        release_id="bench",
        recipient_org_id="org",
        key_id=key_id,
        source=args.source,
        created_at="2026-01-01T00:00:00+00:00",
    )
    phases: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(phase: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if phase != last[1]:
            if last[1]:
                phases[str(last[1])] = phases.get(str(last[1]), 0.0) + now - float(last[0])
            last[:] = [now, phase]

    t0 = time.perf_counter()
    manifest = build_release_local(
        plan,
        source=ParquetSource(args.source),
        keystore=store,
        releases_dir=work / "releases",
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    if last[1]:
        phases[str(last[1])] = phases.get(str(last[1]), 0.0) + time.perf_counter() - float(last[0])
    report = manifest.privacy_report
    events_out = sum(report["tables"][t]["rows_out"] for t in ("visit", "dx"))
    events_in = sum(report["tables"][t]["rows_in"] for t in ("visit", "dx"))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "events_in": events_in,
                "events_out": events_out,
                "persons": report["records_in"],
                "phases": {k: round(v, 1) for k, v in phases.items()},
                "longitudinal": report.get("longitudinal"),
            }
        )
    )


def _run_child(kind: str, source: Path, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-long-", dir=args.data_dir))
    cmd = [sys.executable, "-m", "bench.bench_longitudinal", "--child", "--kind", kind,
           "--source", str(source), "--work", str(work)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    shutil.rmtree(work, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} build failed")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="baseline", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    args.data_dir = str(data_dir)
    src = _dataset(data_dir, args.events)
    print(f"longitudinal release bench: about {args.events:,} events, {os.cpu_count()} cores")
    print(f"{'build':<14}{'events':>12}{'persons':>10}{'seconds':>10}{'events/s':>12}{'peak MB':>9}"
          f"{'time x':>8}{'mem x':>7}  phases (s)")  # fmt: skip
    base: dict[str, Any] | None = None
    for kind in ("baseline", "longitudinal"):
        r = _run_child(kind, src, args)
        base = base or r
        print(
            f"{kind:<14}{r['events_in']:>12,}{r['persons']:>10,}{r['seconds']:>10.1f}"
            f"{r['events_in'] / r['seconds']:>12,.0f}{r['peak_mb']:>9.0f}"
            f"{r['seconds'] / base['seconds']:>8.2f}{r['peak_mb'] / base['peak_mb']:>7.2f}  {r['phases']}",
            flush=True,
        )
        if kind == "longitudinal":
            lg = r["longitudinal"]
            kept = {t: f"{v['kept_share']:.0%}" for t, v in lg["tables"].items()}
            before, after = lg["risk_before"], lg["risk_after"]
            print(
                f"  levels: {lg['anchor_levels']} { ({c: v['label'] for c, v in lg['levels'].items()}) }"
            )
            print(
                f"  kept: {kept}; events suppressed {lg['events_suppressed']:,}; loss {lg['loss']:.3f}"
            )
            print(f"  search: {lg['search']}")
            for m in (1, 2, 3):
                b, a = before.get(f"m{m}", {}), after.get(f"m{m}", {})
                fmt = lambda p: f"{p['share_below_k']:.1%}" if p.get("measured") else "n/m"  # noqa: E731
                print(f"  m={m}: below k before {fmt(b)}, after {fmt(a)}")
    if not args.keep_data:
        shutil.rmtree(src, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
