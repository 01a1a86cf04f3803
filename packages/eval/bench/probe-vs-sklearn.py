"""scikit-learn side of the linear-probe benchmark (a comparison only, never a dependency).

Writes packages/eval/bench/reference/probe-sklearn.json, which probe.bench.ts and
test/probe-sklearn.test.ts read. Run from the repository root with Debian's Python:

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    /usr/bin/python3 packages/eval/bench/probe-vs-sklearn.py

Needs python3-sklearn (1.2.1 in Debian bookworm) and dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz).

Data (the same in bench/fashion-subset.ts): the first 200 training images of each class of
train-images-idx3-ubyte (in file order) and the first 100 test images of each class of
t10k-images-idx3-ubyte, pixels / 255. Two feature cases:

- pixels:  the 784 raw pixel values;
- encoder: a fixed nonlinear "encoder", relu(x R + c), R [784, 512] and c [512] drawn uniform
  from mulberry32 (see below; the same stream in TypeScript), R in +-sqrt(3 / 784), c in +-0.5.

- synthetic: probe.bench.ts's 60000 x 512 timing case (see `synthetic`), train set only.

Two cases on the features of a trained encoder, read from files written by
tools/dump-encoder-features.mjs (a header FILE.json and float32 little-endian rows FILE.f32):

- checkpoint: reference/fashion-encoder-subset.*, committed: the frozen 128-d encoder features
  of a SupCon checkpoint (runs/fashion-mnist-repro/supcon-out-seed0, see the header's `source`)
  on the same 200 / 100 images per class;
- checkpointFull: the same encoder on all 60000 train / 10000 test images, from
  bench-results/fashion-encoder-full.* (not committed: 34 MiB; `--full FILE` to read another
  header). Left out, with a note, when the file is missing: write it first with
  `node tools/dump-encoder-features.mjs --checkpoint <the subset's checkpoint> --full bench-results/fashion-encoder-full`.
  Its `file` entry records the header's source and sha256, so that probe.bench.ts compares with
  these figures only on the same features.

Each case: StandardScaler fitted on train, then LogisticRegression(lbfgs, C=1, tol=1e-4,
max_iter=10000), multinomial. In sklearn 1.2 the lbfgs objective is
    sum_i logloss_i + ||W||^2 / (2 C)        (intercept unpenalised, no 1/n)
and tol is L-BFGS-B's gtol (max |projected gradient| <= tol). It is stored as `objective`,
recomputed here in float64 from coef_/intercept_. sklearn stops on L-BFGS-B's relative-reduction
test (ftol 2.2e-9) before gtol, slightly above the minimum; `objectiveOptimum` is the minimum
itself: scipy L-BFGS-B on the same objective, warm-started from sklearn's solution, with
ftol 0 and gtol 1e-8 (its test accuracy is `optimumTestTop1`).

`small` is a tiny synthetic case (mulberry32 seed 7; 60 x 5, one constant column, 3 classes,
C = 0.5) fitted tightly, with its weights and probabilities, for an exact jest check.
"""
import gzip
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.optimize
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "reference", "probe-sklearn.json")
CHECKPOINT_SUBSET = os.path.join(HERE, "reference", "fashion-encoder-subset.json")
CHECKPOINT_FULL = os.path.join(ROOT, "bench-results", "fashion-encoder-full.json")
TRAIN_PER_CLASS, TEST_PER_CLASS = 200, 100
ENCODER_SEED, ENCODER_DIM = 1234, 512
M32 = 0xFFFFFFFF


def mulberry32(seed, count):
    """The first `count` floats in [0, 1) of mulberry32 (Tommy Ettinger) from `seed`, as
    fashion-subset.ts's mulberry32 draws them. Its state only ever adds 0x6D2B79F5, so the i-th
    output is a function of seed + (i + 1) * 0x6D2B79F5 alone and numpy draws them all at once
    (uint32 products wrap mod 2^32, as Math.imul)."""
    i = np.arange(1, count + 1, dtype=np.uint64)
    a = ((np.uint64(seed & M32) + i * np.uint64(0x6D2B79F5)) & np.uint64(M32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t ^= t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(magic & 0xFF)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims))
    return data.reshape(dims)


def subset(prefix, per_class):
    images = read_idx(f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(f"{prefix}-labels-idx1-ubyte.gz")
    taken = np.zeros(10, dtype=int)
    keep = []
    for i, y in enumerate(labels):
        if taken[y] < per_class:
            taken[y] += 1
            keep.append(i)
            if len(keep) == 10 * per_class:
                break
    keep = np.array(keep)
    return images[keep].reshape(len(keep), -1).astype(np.float64) / 255.0, labels[keep].astype(np.int64)


def read_features(header_file):
    """A tools/dump-encoder-features.mjs file: (train x, train y, test x, test y, header)."""
    with open(header_file) as f:
        h = json.load(f)
    assert h["format"] == "supcon-encoder-features" and h["dtype"] == "float32" and h["byteOrder"] == "little", header_file
    x = np.fromfile(os.path.join(os.path.dirname(header_file), h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)
    out = []
    for split in ("train", "test"):
        s = h["splits"][split]
        out += [x[s["rowOffset"] : s["rowOffset"] + s["rows"]], np.array(s["labels"], dtype=np.int64)]
    return (*out, h)


def file_entry(header_file, h):
    return {"file": os.path.relpath(header_file, ROOT), "sha256": h["sha256"], "shape": h["shape"], "source": h["source"], "commit": h["commit"]}


def encoder_map(dim_in):
    u = mulberry32(ENCODER_SEED, dim_in * ENCODER_DIM + ENCODER_DIM)
    r = ((2 * u[: dim_in * ENCODER_DIM] - 1) * np.sqrt(3.0 / dim_in)).reshape(dim_in, ENCODER_DIM)
    c = (2 * u[dim_in * ENCODER_DIM :] - 1) * 0.5
    return lambda x: np.maximum(x @ r + c, 0.0)


def synthetic(n=60000, dim=512, classes=10, seed=42):
    """probe.bench.ts's timing case: relu(centre_y + uniform(-1, 1)), centres uniform(-0.1, 0.1),
    y_i = i % classes; float32 as in TypeScript (centres, then the rows, row-major, from one stream)."""
    u = mulberry32(seed, classes * dim + n * dim)
    centres = (0.1 * (2 * u[: classes * dim] - 1)).astype(np.float32).reshape(classes, dim)
    y = np.arange(n) % classes
    noise = (2 * u[classes * dim :] - 1).reshape(n, dim)
    return np.maximum(0.0, centres.astype(np.float64)[y] + noise).astype(np.float32).astype(np.float64), y


def objective(clf, x, y, C):
    """sum_i logloss_i + ||W||^2 / (2C) (sklearn 1.2's lbfgs objective), and the mean logloss."""
    z = x @ clf.coef_.T + clf.intercept_
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    nll = -logp[np.arange(len(y)), y].sum()
    return float(nll + 0.5 * np.sum(clf.coef_**2) / C), float(nll / len(y))


def minimum(clf, x, y, C):
    """The objective's minimum, from sklearn's solution: scipy L-BFGS-B with ftol 0, gtol 1e-8."""
    n, d = x.shape
    k = clf.coef_.shape[0]
    onehot = np.eye(k)[y]

    def f(theta):
        w, b = theta[: d * k].reshape(d, k), theta[d * k :]
        z = x @ w + b
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        g = np.exp(z - lse[:, None]) - onehot
        value = (lse - z[np.arange(n), y]).sum() + 0.5 * np.sum(w**2) / C
        return value, np.concatenate([(x.T @ g + w / C).ravel(), g.sum(axis=0)])

    theta0 = np.concatenate([clf.coef_.T.ravel(), clf.intercept_])
    res = scipy.optimize.minimize(f, theta0, jac=True, method="L-BFGS-B", options={"ftol": 0.0, "gtol": 1e-8, "maxiter": 20000})
    w, b = res.x[: d * k].reshape(d, k), res.x[d * k :]
    return float(res.fun), w, b


def fit(x, y, C, tol, max_iter=10000):
    clf = LogisticRegression(C=C, solver="lbfgs", tol=tol, max_iter=max_iter)
    t0 = time.perf_counter()
    clf.fit(x, y)
    return clf, time.perf_counter() - t0


def run_case(name, xtr, ytr, xte, yte, C=1.0):
    scaler = StandardScaler().fit(xtr)
    str_ = scaler.transform(xtr)
    ste = scaler.transform(xte) if xte is not None else None
    clf, seconds = fit(str_, ytr, C, 1e-4)
    obj, mean_loss = objective(clf, str_, ytr, C)
    opt, w_opt, b_opt = minimum(clf, str_, ytr, C)
    n_iter = int(clf.n_iter_[0])
    out = {
        "features": name,
        "trainSize": len(ytr),
        "testSize": len(yte) if yte is not None else 0,
        "dim": xtr.shape[1],
        "constantFeatures": int(np.sum(scaler.var_ == 0)),
        "C": C,
        "tol": 1e-4,
        "testTop1": float(clf.score(ste, yte)) if ste is not None else None,
        "trainTop1": float(clf.score(str_, ytr)),
        "objective": obj,
        "objectiveOptimum": opt,
        "meanTrainLoss": mean_loss,
        "iterations": n_iter,
        "converged": n_iter < 10000,
        "optimumTestTop1": float(np.mean(np.argmax(ste @ w_opt + b_opt, axis=1) == yte)) if ste is not None else None,
        "seconds": seconds,
    }
    test = f"test top-1 {100 * out['testTop1']:.2f}%" if ste is not None else "(no test set)   "
    print(
        f"{name:14s} {test}  train {100 * out['trainTop1']:.2f}%  "
        f"objective {obj:.6f} (minimum {opt:.6f})  {n_iter} iterations  {seconds:.2f} s"
    )
    return out


def small_case():
    n, k, C = 60, 3, 0.5
    y = np.arange(n) % k
    u = mulberry32(7, n * 4).reshape(n, 4)
    x = np.hstack([2 * u - 1 + (np.arange(4)[None, :] == y[:, None]), np.full((n, 1), 2.0)])
    xs = StandardScaler().fit_transform(x)
    clf, _ = fit(xs, y, C, 1e-12, max_iter=100000)
    obj, w, b = minimum(clf, xs, y, C)
    z = xs[:6] @ w + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return {
        "description": "x[i][j] = 2u - 1 + (j == y_i ? 1 : 0) for j < 4 (u from mulberry32(7), row-major), x[i][4] = 2, y_i = i % 3; "
        "LogisticRegression(C=0.5) on StandardScaler features, polished to the minimum; coef [classes][dim] on standardised features",
        "C": C,
        "x": x.tolist(),
        "y": y.tolist(),
        "coef": w.T.tolist(),
        "intercept": b.tolist(),
        "sklearnIterations": int(clf.n_iter_[0]),
        "probabilities": (p / p.sum(axis=1, keepdims=True)).tolist(),
        "objective": obj,
    }


def main():
    full_file = CHECKPOINT_FULL
    if "--full" in sys.argv:
        full_file = os.path.abspath(sys.argv[sys.argv.index("--full") + 1])
    xtr, ytr = subset("train", TRAIN_PER_CLASS)
    xte, yte = subset("t10k", TEST_PER_CLASS)
    enc = encoder_map(xtr.shape[1])
    ref = {
        "generatedBy": "packages/eval/bench/probe-vs-sklearn.py",
        "sklearn": sklearn.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "secondsNote": f"wall-clock seconds of fit() on the machine that ran this script ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})",
        "objectiveDefinition": "sum_i logloss_i + ||W||^2 / (2C), intercept unpenalised, on StandardScaler features",
        "data": f"fashion-mnist: first {TRAIN_PER_CLASS}/class of train-*, first {TEST_PER_CLASS}/class of t10k-*, pixels / 255",
        "encoder": f"relu(x R + c), R [784, {ENCODER_DIM}] then c from mulberry32({ENCODER_SEED}), R in +-sqrt(3/784), c in +-0.5",
        "cases": {
            "pixels": run_case("pixels", xtr, ytr, xte, yte),
            "encoder": run_case("encoder", enc(xtr), ytr, enc(xte), yte),
            "synthetic": run_case("synthetic", *synthetic(), None, None),
        },
        "small": small_case(),
    }
    *split, h = read_features(CHECKPOINT_SUBSET)
    ref["cases"]["checkpoint"] = {**run_case("checkpoint", *split), **file_entry(CHECKPOINT_SUBSET, h)}
    if os.path.exists(full_file):
        *split, h = read_features(full_file)
        ref["cases"]["checkpointFull"] = {**run_case("checkpointFull", *split), **file_entry(full_file, h)}
    else:
        print(
            f"checkpointFull: left out: {os.path.relpath(full_file)} is missing (write it with node tools/dump-encoder-features.mjs "
            f"--checkpoint {h['source']['checkpoint']} --full {os.path.relpath(CHECKPOINT_FULL)})",
            file=sys.stderr,
        )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
