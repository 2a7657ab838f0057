"""What a team would script in Python for `dslp data test --base main`, for
the data bench to compare with: the head file from the checkout, the base
from git (`git show main:PATH`, as a pull request's base is read), then the
same work on both engines' terms:

  checks   row count, per-column nulls, types, ranges, allowed levels,
           unique ids, duplicate rows
  profile  per column: nulls, distinct, min, max, mean, std, quantiles
           1/5/25/50/75/95/99 %, top 5 values
  drift    numeric: PSI on the base's deciles and KS (scipy.stats.ks_2samp);
           text: PSI over levels, new levels
  leakage  test rows equal to a training row; per numeric feature ROC-AUC
           against the binary target (Mann-Whitney ranks)

    python benches/python_data_tests.py polars|pandas REPO data/team.csv
Prints one line: RESULT seconds=... failed=...
"""
import io
import subprocess
import sys
import time

import numpy as np
from scipy.stats import ks_2samp

NUMERIC = ["tenure_days", "monthly_spend", "sessions", "discount", "nps", "revenue"]
TEXT = ["region", "segment", "is_promo", "has_app", "split"]
RANGES = {"tenure_days": (0, None), "monthly_spend": (0, None), "sessions": (0, None),
          "discount": (0, 0.4), "nps": (0, 10)}
LEVELS = {"segment": {"consumer", "smb", "enterprise", "education", "public"}, "split": {"train", "test"}}
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


def psi(base_counts, head_counts):
    b = np.maximum(base_counts / base_counts.sum(), 1e-4)
    h = np.maximum(head_counts / head_counts.sum(), 1e-4)
    return float(np.sum((h - b) * np.log(h / b)))


def numeric_drift(base, head):
    base, head = base[~np.isnan(base)], head[~np.isnan(head)]
    edges = np.unique(np.quantile(base, np.arange(1, 10) / 10))
    count = lambda x: np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
    return psi(count(base), count(head)), ks_2samp(base, head).statistic


def auc(scores, labels):
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    positives = labels == 1
    n1, n0 = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n1 * (n1 + 1) / 2) / max(n1 * n0, 1)


def polars_run(head_bytes, base_bytes):
    import polars as pl
    head, base = pl.read_csv(head_bytes), pl.read_csv(base_bytes)
    failed = 0
    failed += head.height < 1000
    failed += head["customer"].null_count() > 0 or head["customer"].n_unique() != head.height
    failed += head.is_duplicated().mean() > 0.02
    for column, (low, high) in RANGES.items():
        s = head[column]
        failed += (low is not None and (s.min() or 0) < low) or (high is not None and (s.max() or 0) > high)
    for column, allowed in LEVELS.items():
        failed += not set(head[column].drop_nulls().unique().to_list()) <= allowed
    for column in NUMERIC:
        s = head[column]
        _ = (s.null_count(), s.n_unique(), s.min(), s.max(), s.mean(), s.std(),
             [s.quantile(q, "linear") for q in QUANTILES])
        failed += numeric_drift(base[column].cast(pl.Float64).to_numpy(), s.cast(pl.Float64).to_numpy())[0] > 0.25
    for column in TEXT + ["customer"]:
        s = head[column].cast(pl.Utf8)
        _ = (s.null_count(), s.n_unique(), s.value_counts(sort=True).head(5))
    for column in TEXT:
        hb = base[column].cast(pl.Utf8).value_counts()
        hh = head[column].cast(pl.Utf8).value_counts()
        joined = hb.join(hh, on=column, how="full", coalesce=True, suffix="_head").fill_null(0)
        failed += psi(joined["count"].to_numpy().astype(float), joined["count_head"].to_numpy().astype(float)) > 0.25
    features = [c for c in head.columns if c not in ("customer", "split")]
    train, test = head.filter(pl.col("split") == "train"), head.filter(pl.col("split") == "test")
    failed += test.select(features).join(train.select(features).unique(), on=features, how="semi").height > 0
    labels = head["churned"].to_numpy()
    for column in NUMERIC:
        values = head[column].fill_null(strategy="mean").to_numpy()
        a = auc(values, labels)
        failed += a >= 0.99 or a <= 0.01
    return int(failed)


def pandas_run(head_bytes, base_bytes):
    import pandas as pd
    return pandas_checks(pd.read_csv(head_bytes), pd.read_csv(base_bytes))


def pandas_checks(head, base):
    import pandas as pd
    failed = 0
    failed += len(head) < 1000
    failed += head["customer"].isna().any() or not head["customer"].is_unique
    failed += head.duplicated().mean() > 0.02
    for column, (low, high) in RANGES.items():
        s = head[column]
        failed += (low is not None and s.min() < low) or (high is not None and s.max() > high)
    for column, allowed in LEVELS.items():
        failed += not set(head[column].dropna().unique()) <= allowed
    for column in NUMERIC:
        s = head[column]
        _ = (s.isna().sum(), s.nunique(), s.min(), s.max(), s.mean(), s.std(), s.quantile(QUANTILES))
        failed += numeric_drift(base[column].to_numpy(float), s.to_numpy(float))[0] > 0.25
    for column in TEXT + ["customer"]:
        s = head[column].astype("string")
        _ = (s.isna().sum(), s.nunique(), s.value_counts().head(5))
    for column in TEXT:
        vb = base[column].astype("string").value_counts()
        vh = head[column].astype("string").value_counts()
        joined = pd.concat([vb, vh], axis=1).fillna(0)
        failed += psi(joined.iloc[:, 0].to_numpy(float), joined.iloc[:, 1].to_numpy(float)) > 0.25
    features = [c for c in head.columns if c not in ("customer", "split")]
    train, test = head[head["split"] == "train"], head[head["split"] == "test"]
    failed += len(test[features].merge(train[features].drop_duplicates(), how="inner")) > 0
    labels = head["churned"].to_numpy()
    for column in NUMERIC:
        values = head[column].fillna(head[column].mean()).to_numpy(float)
        a = auc(values, labels)
        failed += a >= 0.99 or a <= 0.01
    return int(failed)


def read_both(repo, path):
    """The head from the checkout, the base from git, as a pull request reads them."""
    base_bytes = io.BytesIO(subprocess.run(["git", "-C", repo, "show", f"main:{path}"],
                                           capture_output=True, check=True).stdout)
    with open(f"{repo}/{path}", "rb") as f:
        head_bytes = io.BytesIO(f.read())
    return head_bytes, base_bytes


if __name__ == "__main__":
    engine, repo, path = sys.argv[1], sys.argv[2], sys.argv[3]
    started = time.perf_counter()
    head_bytes, base_bytes = read_both(repo, path)
    failed = (polars_run if engine == "polars" else pandas_run)(head_bytes, base_bytes)
    print(f"RESULT seconds={time.perf_counter() - started:.2f} failed={failed}")
