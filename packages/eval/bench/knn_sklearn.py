"""kNN at scale, the reference side of knn-scale.bench.ts: the same synthetic features (`synthetic` below:
70000 x 512 from seed 42, the first 60000 the training set, the next 10000 the test set), then
- scikit-learn's KNeighborsClassifier (brute force, cosine, k neighbours, uniform votes): its fit + predict time;
- the same weighted vote as @supcon/eval's knn in NumPy (cosine, the k most similar, weights exp(sim / tau)),
  its predictions, so the bench can compare them row by row.
Prints one JSON line. Usage: python3 knn_sklearn.py [--k 20] [--tau 0.1] [--threads N].
A comparison only, never a dependency.
"""
import argparse, importlib.util, json, os, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("probe_vs_sklearn", os.path.join(HERE, "probe-vs-sklearn.py"))
pvs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pvs)

p = argparse.ArgumentParser()
p.add_argument("--k", type=int, default=20)
p.add_argument("--tau", type=float, default=0.1)
p.add_argument("--n-test", type=int, default=10000)
args = p.parse_args()

def synthetic(n, seed, dim=512, classes=10, scale=0.15):
    """knn-scale.bench.ts's features: relu(centre_y + uniform(-1, 1)), centres uniform(-scale, scale)
    (float32), y_i = i % classes, all from one mulberry32 stream (centres first, then the rows)."""
    u = pvs.mulberry32(seed, classes * dim + n * dim)
    centres = (scale * (2 * u[: classes * dim] - 1)).astype(np.float32).reshape(classes, dim)
    y = np.arange(n) % classes
    noise = (2 * u[classes * dim :] - 1).reshape(n, dim)
    return np.maximum(0.0, centres.astype(np.float64)[y] + noise).astype(np.float32), y


x, y = synthetic(60000 + args.n_test, 42)
xtr, ytr, xte, yte = x[:60000], y[:60000], x[60000:], y[60000:]

from sklearn.neighbors import KNeighborsClassifier

t0 = time.perf_counter()
clf = KNeighborsClassifier(n_neighbors=args.k, algorithm="brute", metric="cosine", n_jobs=None).fit(xtr, ytr)
pred_sk = clf.predict(xte)
sk_seconds = time.perf_counter() - t0

# The weighted vote of @supcon/eval, in NumPy, in chunks.
t0 = time.perf_counter()
a = xtr / np.linalg.norm(xtr, axis=1, keepdims=True)
pred = np.empty(len(xte), dtype=np.int64)
for s in range(0, len(xte), 1024):
    q = xte[s : s + 1024]
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = q @ a.T
    top = np.argpartition(-sims, args.k - 1, axis=1)[:, : args.k]
    w = np.exp(np.take_along_axis(sims, top, 1).astype(np.float64) / args.tau)
    scores = np.zeros((len(q), 10))
    for j in range(args.k):
        np.add.at(scores, (np.arange(len(q)), ytr[top[:, j]]), w[:, j])
    pred[s : s + len(q)] = scores.argmax(1)
np_seconds = time.perf_counter() - t0

print(json.dumps({
    "sklearnSeconds": sk_seconds,
    "sklearnTop1": float((pred_sk == yte).mean()),
    "numpySeconds": np_seconds,
    "numpyTop1": float((pred == yte).mean()),
    "numpyPredictions": pred.tolist(),
}))
