"""scikit-learn's linear probe on features written by tools/study-probe-check.mjs (a comparison only).

    /usr/bin/python3 tools/study_probe_sklearn.py FILE   # reads FILE.json and FILE.f32

StandardScaler fitted on the train rows, then LogisticRegression(lbfgs, C=1, tol=1e-4,
max_iter=10000), multinomial: the settings of packages/eval/bench/probe-vs-sklearn.py. Prints
JSON: top1, trainTop1 and the per-class accuracy on the test rows.
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

base = sys.argv[1]
head = json.load(open(base + ".json"))
dim, n, m = head["dim"], head["train"]["rows"], head["test"]["rows"]
x = np.fromfile(base + ".f32", dtype="<f4").reshape(n + m, dim).astype(np.float64)
ytr, yte = np.array(head["train"]["labels"]), np.array(head["test"]["labels"])
scaler = StandardScaler().fit(x[:n])
xtr, xte = scaler.transform(x[:n]), scaler.transform(x[n:])
clf = LogisticRegression(C=1.0, solver="lbfgs", tol=1e-4, max_iter=10000).fit(xtr, ytr)
pred = clf.predict(xte)
classes = sorted(set(ytr.tolist()) | set(yte.tolist()))
per_class = [float((pred[yte == c] == c).mean()) if (yte == c).any() else 0.0 for c in classes]
print(json.dumps({"top1": float((pred == yte).mean()), "trainTop1": float((clf.predict(xtr) == ytr).mean()), "perClassAccuracy": per_class}))
