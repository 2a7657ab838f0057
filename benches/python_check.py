"""What a team would script in Python for `dslp check` on an experiment
branch with one model and the base's metrics already known: pandas reads the
head from the checkout and the base from git, runs the data tests of
`python_data_tests.py` (checks, profile, drift, leakage), then scikit-learn
fits the model of `sklearn_models.py` on the head's train rows and scores
its test rows.

    python benches/python_check.py REPO data/team.csv lr
Prints one line: RESULT seconds=... fit_s=... roc_auc=... failed=...
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pandas as pd  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from python_data_tests import pandas_checks, read_both  # noqa: E402
from sklearn_models import fit_and_score, prepare  # noqa: E402

repo, path, algorithm = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
head_bytes, base_bytes = read_both(repo, path)
head = pd.read_csv(head_bytes)
failed = pandas_checks(head, pd.read_csv(base_bytes))
_, fit_s, labels, proba = fit_and_score(prepare(head), algorithm)
print(f"RESULT seconds={time.perf_counter() - started:.2f} fit_s={fit_s:.2f} "
      f"roc_auc={roc_auc_score(labels, proba):.4f} failed={failed}")
