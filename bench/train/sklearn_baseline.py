"""scikit-learn baselines for `npm run bench:train`.

Reads a plan written by bench/train/run-train.ts (JSON: one entry per dataset with the CSV, the
target and its positive value, which columns Galen treats as numeric and which as categorical, and
the held-out row indices), fits LogisticRegression and HistGradientBoostingClassifier on exactly the
same training rows, and prints JSON with each model's test AUROC and fit times (seconds, wall clock,
each fit repeated; the pipeline's preprocessing is part of the fit, as it is in Galen's
trainTabular).

Usage: /usr/bin/python3 bench/train/sklearn_baseline.py PLAN.json

Exits with status 3 and a JSON {"error": "missing_sklearn", ...} on stdout when scikit-learn is
not importable, so the caller can say how to install it.
"""

import csv
import json
import math
import platform
import statistics
import sys
import time

try:
    import numpy as np
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
    from threadpoolctl import threadpool_limits
except ImportError as err:  # the caller turns this into install instructions
    print(json.dumps({"error": "missing_sklearn", "detail": str(err), "python": sys.executable}))
    sys.exit(3)

MISSING_CATEGORY = "__missing__"


def as_float(block):
    """The numeric block of the mixed (object) feature array, as floats."""
    return block.astype(float)


def read_columns(entry):
    """The CSV as numeric (float, NaN = missing) and categorical (str) arrays, plus 0/1 labels."""
    markers = set(entry["missingMarkers"])
    with open(entry["csv"], newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=entry.get("delimiter", ","))
        header = next(reader)
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    if len(rows) != entry["rows"]:
        raise SystemExit(
            f"{entry['csv']}: {len(rows)} data rows here but Galen parsed {entry['rows']}; "
            "the row indices would not line up"
        )
    index = {name: i for i, name in enumerate(header)}
    missing = [c for c in [*entry["numeric"], *entry["categorical"], entry["target"]] if c not in index]
    if missing:
        raise SystemExit(f"{entry['csv']}: no column(s) {', '.join(missing)}")

    def cell(row, name):
        value = row[index[name]].strip()
        return None if value in markers else value

    numeric = np.array(
        [[math.nan if cell(r, c) is None else float(cell(r, c)) for c in entry["numeric"]] for r in rows],
        dtype=float,
    ).reshape(len(rows), len(entry["numeric"]))
    categorical = np.array(
        [[cell(r, c) or MISSING_CATEGORY for c in entry["categorical"]] for r in rows], dtype=object
    ).reshape(len(rows), len(entry["categorical"]))
    targets = [cell(r, entry["target"]) for r in rows]
    labelled = np.array([t is not None for t in targets])
    y = np.array([1 if t == entry["positive"] else 0 for t in targets])
    return numeric, categorical, y, labelled


def logistic_pipeline(n_numeric, n_categorical, c):
    numeric = Pipeline(
        [
            ("float", FunctionTransformer(as_float)),
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
        ]
    )
    categorical = OneHotEncoder(handle_unknown="ignore")
    steps = ColumnTransformer(
        [
            ("numeric", numeric, list(range(n_numeric))),
            ("categorical", categorical, list(range(n_numeric, n_numeric + n_categorical))),
        ]
    )
    return Pipeline([("features", steps), ("model", LogisticRegression(C=c, max_iter=10_000))])


def hgb_pipeline(n_numeric, n_categorical, seed):
    # Categorical columns as ordinal codes that HistGradientBoosting treats as categories (its native
    # categorical splits); numeric columns pass through with NaN left for the trees to route.
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    steps = ColumnTransformer(
        [
            ("numeric", FunctionTransformer(as_float), list(range(n_numeric))),
            ("categorical", encoder, list(range(n_numeric, n_numeric + n_categorical))),
        ]
    )
    mask = [False] * n_numeric + [True] * n_categorical
    model = HistGradientBoostingClassifier(
        random_state=seed, categorical_features=mask if n_categorical else None
    )
    return Pipeline([("features", steps), ("model", model)])


def fit_and_score(make, x_train, y_train, x_test, y_test, repeats):
    times = []
    fitted = None
    # One untimed warm-up fit first (thread pools, caches), as on Galen's side.
    for _ in range(repeats + 1):
        model = make()
        start = time.perf_counter()
        model.fit(x_train, y_train)
        times.append(time.perf_counter() - start)
        fitted = model
    auroc = roc_auc_score(y_test, fitted.predict_proba(x_test)[:, 1])
    return {"auroc": auroc, "fitS": statistics.median(times[1:]), "coldFitS": times[0], "fitRunsS": times[1:]}


def run(entry):
    numeric, categorical, y, labelled = read_columns(entry)
    x = np.concatenate([numeric.astype(object), categorical], axis=1)
    n_num, n_cat = numeric.shape[1], categorical.shape[1]
    test = np.zeros(len(y), dtype=bool)
    test[entry["testRows"]] = True
    train = labelled & ~test
    test &= labelled
    x_train, x_test = x[train], x[test]
    repeats = entry["repeats"]
    seed = entry["seed"]
    logistic = fit_and_score(
        lambda: logistic_pipeline(n_num, n_cat, entry["c"]), x_train, y[train], x_test, y[test], repeats
    )
    gbdt = fit_and_score(lambda: hgb_pipeline(n_num, n_cat, seed), x_train, y[train], x_test, y[test], repeats)
    with threadpool_limits(limits=1):
        single = fit_and_score(
            lambda: hgb_pipeline(n_num, n_cat, seed), x_train, y[train], x_test, y[test], repeats
        )
    gbdt["fitS1Thread"] = single["fitS"]
    return {
        "name": entry["name"],
        "trainRows": int(train.sum()),
        "testRows": int(test.sum()),
        "logistic": logistic,
        "gbdt": gbdt,
    }


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: sklearn_baseline.py PLAN.json")
    with open(sys.argv[1], encoding="utf-8") as handle:
        plan = json.load(handle)
    results = [run(entry) for entry in plan["datasets"]]
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "datasets": results,
            }
        )
    )


if __name__ == "__main__":
    main()
