"""What a data scientist would script in Python for the model bench to
compare with, on the same file and split: pandas reads the CSV; numeric
columns are mean-imputed and scaled, text and boolean columns get a
"(missing)" level and one-hot encoding (as dslp's feature plan does), then
scikit-learn fits

    lr  LogisticRegression(C=1, max_iter=100)            (sparse one-hot)
    rf  RandomForestClassifier(100 trees, n_jobs=2)
    gb  HistGradientBoostingClassifier() (defaults: early stopping above 10 000 rows)
    rfm RandomForestClassifier(100 trees, n_jobs=2) on the 5-level segment
        (the other columns and churned as features; ROC-AUC one-vs-rest macro)

    python benches/sklearn_models.py lr target/bench-data/model/1000000/data/team.csv
Prints one line: RESULT fit_s=... roc_auc=... accuracy=...
"""
import sys
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_days", "monthly_spend", "sessions", "discount", "nps"]
CATEGORICAL = ["region", "segment", "is_promo", "has_app"]



def prepare(data):
    """Text and boolean columns get a "(missing)" level, as dslp's feature plan does."""
    for column in CATEGORICAL:
        data[column] = data[column].astype("object").where(data[column].notna(), "(missing)").astype(str)
    return data


def pipeline(algorithm):
    estimator = {
        "lr": lambda: LogisticRegression(C=1.0, max_iter=100),
        "rf": lambda: RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0),
        "rfm": lambda: RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0),
        "gb": lambda: HistGradientBoostingClassifier(random_state=0),
    }[algorithm]()
    numeric, categorical = columns(algorithm)
    return make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=algorithm == "lr"), categorical),
        ]),
        estimator,
    )


def columns(algorithm):
    """The numeric and categorical features; `rfm` predicts the segment."""
    if algorithm == "rfm":
        return NUMERIC + ["churned"], [c for c in CATEGORICAL if c != "segment"]
    return NUMERIC, CATEGORICAL


def fit_and_score(data, algorithm):
    """Fits on the train rows; the fitted pipeline, fit seconds and the test scores."""
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]
    model = pipeline(algorithm)
    numeric, categorical = columns(algorithm)
    features = numeric + categorical
    target = "segment" if algorithm == "rfm" else "churned"
    started = time.perf_counter()
    model.fit(train[features], train[target])
    fit_s = time.perf_counter() - started
    proba = model.predict_proba(test[features])
    return model, fit_s, test[target], proba if algorithm == "rfm" else proba[:, 1]


FEATURES = NUMERIC + CATEGORICAL

if __name__ == "__main__":
    algorithm, path = sys.argv[1], sys.argv[2]
    # "predict-lr" / "predict-gb": fit (untimed), then time reading the file
    # again and predict_proba on every row, as a scoring job would.
    predicting = algorithm.startswith("predict-")
    algorithm = algorithm.removeprefix("predict-")
    model, fit_s, labels, proba = fit_and_score(prepare(pd.read_csv(path)), algorithm)
    if predicting:
        started = time.perf_counter()
        fresh = prepare(pd.read_csv(path))
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        scores = model.predict_proba(fresh[FEATURES])
        predict_s = time.perf_counter() - started
        print(f"RESULT rows={len(fresh)} read_s={read_s:.2f} predict_s={predict_s:.2f}")
    else:
        if algorithm == "rfm":
            auc = roc_auc_score(labels, proba, multi_class="ovr", average="macro")
            accuracy = accuracy_score(labels, model.classes_[proba.argmax(axis=1)])
        else:
            auc, accuracy = roc_auc_score(labels, proba), accuracy_score(labels, proba >= 0.5)
        print(f"RESULT fit_s={fit_s:.2f} roc_auc={auc:.4f} accuracy={accuracy:.4f}")
