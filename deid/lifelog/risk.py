"""How unique released lifelog series are (after Na et al., JAMA Netw Open 2018).

Na et al. re-identified most adults in NHANES from aggregated physical-activity
series plus demographics. The measure here: the attacker knows a person's released
demographics (the anchor table's quasi-identifiers as written) and roughly when the
person is active: low / medium / high mean steps (terciles over all released
series) in each 4-hour block of the day, and, when released, the 시군구 seen most.
``unique_share`` is the share of released lifelog persons whose (demographic class,
activity profile) no other released lifelog person shares. Measured on the written
tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = ["MEASURE", "series_uniqueness"]

MEASURE = (
    "share of released lifelog persons whose demographic class and activity profile "
    "(low/medium/high mean steps per 4-hour block of the day, and the most frequent "
    "시군구 if released) no other released person shares"
)


def series_uniqueness(
    lifelog: pa.Table, person: pa.Table, *, link: str, quasi: Sequence[str]
) -> dict[str, Any]:
    series = pl.from_arrow(lifelog)
    assert isinstance(series, pl.DataFrame)
    n = series["person_id"].n_unique() if series.height else 0
    if n == 0:
        return {"measure": MEASURE, "patients": 0, "unique": 0, "unique_share": 0.0, "classes": 0}
    blocks = (
        series.with_columns((pl.col("window_start").dt.hour() // 4).alias("block"))
        .group_by("person_id", "block")
        .agg(pl.col("steps").mean().alias("mean_steps"))
    )
    cuts = np.quantile(blocks["mean_steps"].to_numpy(), [1 / 3, 2 / 3])
    blocks = blocks.with_columns(
        pl.Series("level", np.searchsorted(cuts, blocks["mean_steps"].to_numpy(), side="right"))
    )
    profile = (
        blocks.sort("block")
        .group_by("person_id")
        .agg(pl.concat_str([pl.col("block"), pl.col("level")], separator=":").alias("p"))
        .with_columns(pl.col("p").list.join(",").alias("profile"))
        .select("person_id", "profile")
    )
    if "sigungu" in series.columns:
        home = series.group_by("person_id").agg(
            pl.col("sigungu").drop_nulls().mode().sort().first().alias("home")
        )
        profile = profile.join(home, on="person_id", how="left").with_columns(
            pl.concat_str([pl.col("profile"), pl.col("home").fill_null("-")], separator="|").alias(
                "profile"
            )
        )
    demo = pl.from_arrow(person.select([link, *quasi]))
    assert isinstance(demo, pl.DataFrame)
    demo = demo.rename({link: "person_id"}).with_columns(
        pl.concat_str(
            [pl.col(q).cast(pl.String).fill_null("-") for q in quasi], separator="|"
        ).alias("klass")
        if quasi
        else pl.lit("*").alias("klass")
    )
    joined = profile.join(demo.select("person_id", "klass"), on="person_id", how="left")
    keys = list(
        zip(joined["klass"].fill_null("?").to_list(), joined["profile"].to_list(), strict=True)
    )
    counts = Counter(keys)
    unique = sum(1 for k in keys if counts[k] == 1)
    return {
        "measure": MEASURE,
        "patients": len(keys),
        "classes": len({k for k, _ in keys}),
        "unique": unique,
        "unique_share": round(unique / len(keys), 4),
    }
