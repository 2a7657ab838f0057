"""scikit-learn's logistic-regression pipeline on the benchmark data, for the
model bench to compare with: impute, scale, one-hot, LogisticRegression.

    python3 benches/sklearn_logreg.py target/bench-data/1000000/base.csv
Prints one line: RESULT fit_s=... roc_auc=... accuracy=...
"""
import sys
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data = pd.read_csv(sys.argv[1])
numeric = ["income", "spend", "age", "score"]
categorical = ["plan", "active"]
train, test = data[data["split"] == "train"], data[data["split"] == "test"]
model = make_pipeline(
    ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ]),
    LogisticRegression(C=1.0, max_iter=100),
)
started = time.perf_counter()
model.fit(train[numeric + categorical], train["churned"])
fit_s = time.perf_counter() - started
proba = model.predict_proba(test[numeric + categorical])[:, 1]
print(f"RESULT fit_s={fit_s:.2f} roc_auc={roc_auc_score(test['churned'], proba):.4f} "
      f"accuracy={accuracy_score(test['churned'], proba >= 0.5):.4f}")
