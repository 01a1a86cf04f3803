"""Reference values for supConLoss's memory, multi-label, denominator and positives-cap options,
computed with PyTorch in float64 (run: unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; cd test &&
/usr/bin/python3 make_reference_options.py; writes reference_options.json).

Written for these tests from the definitions, anchor by anchor with explicit sets, not from the
TypeScript (which works on whole matrices):

- Contrast samples: the batch's rows (view-major: row v * B + b is view v of image b) and then
  the memory's M samples, which are never anchors and get no gradient (detached).
- Anchors: every batch row ('all') or view 0 of each image ('one').
- Weight of sample k for anchor image i: labels equal (1 / 0); multi-hot 'any' (a shared label)
  or 'jaccard' (|A & B| / |A | B|, 0 when both are empty); no labels: 1 for the same image only.
- Positives cap: per anchor image, its other positive samples are capped to `cap` rows (an image
  takes `views` rows, a memory sample one) by the documented rule, with @supcon/core's seeded
  generator (sfc32 seeded through splitmix32) re-implemented below; the left-out positives leave
  the anchor's row altogether.
- For anchor a: P = positives (weight > 0, not a, not left out), N = negatives (weight 0, not a).
  log p_ap = s_ap - log D_ap with s = z_a . z_c / T and D_ap = sum over P and N ('all'),
  exp(s_ap) + sum over N ('one-positive'), sum over N ('only-negatives').
  'out': loss_a = -sum_p w_p log p_ap / sum_p w_p; 'in': loss_a = -log(sum_p w_p p_ap / sum_p w_p).
- Anchors with no positive (or, for 'only-negatives', no negative) are left out of the mean
  ('exclude') or count as 0 ('zero'); the mean is scaled by T / baseTemperature.
"""
import json
import torch

torch.manual_seed(7)
M32 = 0xFFFFFFFF


def splitmix32(seed):
    s = seed & M32

    def draw():
        nonlocal s
        s = (s + 0x9E3779B9) & M32
        z = s
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
        return (z ^ (z >> 16)) & M32

    return draw


class Sfc32:
    """@supcon/core's createRng(seed): the same sequence of next() values."""

    def __init__(self, seed):
        sm = splitmix32(seed)
        self.a, self.b, self.c, self.d = sm(), sm(), sm(), sm()
        for _ in range(12):
            self.uint32()

    def uint32(self):
        t = (((self.a + self.b) & M32) + self.d) & M32
        self.d = (self.d + 1) & M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M32
        self.c = ((self.c << 21) | (self.c >> 11)) & M32
        self.c = (self.c + t) & M32
        return t

    def next(self):
        return self.uint32() / 4294967296


def weight(labels, mem_labels, multi, i, k, B):
    """Weight of sample k (batch image k < B, else memory sample k - B) for anchor image i."""
    if labels is None:
        return 1.0 if k == i else 0.0
    li = labels[i]
    lk = labels[k] if k < B else mem_labels[k - B]
    if not isinstance(li, list):
        return 1.0 if li == lk else 0.0
    a = {c for c, x in enumerate(li) if x}
    b = {c for c, x in enumerate(lk) if x}
    if not (a & b):
        return 0.0
    return 1.0 if multi == "any" else len(a & b) / len(a | b)


def left_out(weights, B, V, cap, rng):
    """Samples each anchor image's cap leaves out: {image: set of samples}."""
    out = {}
    for i in range(B):
        cands = [k for k in range(len(weights[i])) if k != i and weights[i][k] > 0]
        size = lambda k: V if k < B else 1
        if sum(size(k) for k in cands) <= cap:
            out[i] = set()
            continue
        kept, budget, t = set(), cap, 0
        while t < len(cands) and budget > 0:
            j = t + int(rng.next() * (len(cands) - t))
            cands[t], cands[j] = cands[j], cands[t]
            if size(cands[t]) <= budget:
                kept.add(cands[t])
                budget -= size(cands[t])
            t += 1
        out[i] = set(cands) - kept
    return out


def loss_fn(features, labels, memory, mem_labels, o):
    B, V, D = features.shape
    T = o["temperature"]
    base = o.get("baseTemperature") or T
    rows = [features[b, v] for v in range(V) for b in range(B)]
    sample = [b for v in range(V) for b in range(B)]
    if memory is not None:
        rows += [m for m in memory.detach()]
        sample += [B + m for m in range(memory.shape[0])]
    S = B + (0 if memory is None else memory.shape[0])
    weights = [[weight(labels, mem_labels, o.get("multiLabel", "any"), i, k, B) for k in range(S)] for i in range(B)]
    cap = o.get("positivesCap", -1)
    out = left_out(weights, B, V, cap, Sfc32(o.get("seed", 0))) if cap >= 0 else {i: set() for i in range(B)}
    anchors = range(B * V) if o.get("contrastMode", "all") == "all" else range(B)
    den_mode = o.get("denominator", "all")
    losses, count = [], 0
    for a in anchors:
        img = sample[a]
        P, N = [], []
        for c in range(len(rows)):
            if c == a or sample[c] in out[img]:
                continue
            w = weights[img][sample[c]]
            (P if w > 0 else N).append((c, w))
        s = {c: torch.dot(rows[a], rows[c]) / T for c in range(len(rows)) if c != a}
        if not P or (den_mode == "only-negatives" and not N):
            count += o.get("noPositives", "exclude") == "zero"
            continue
        count += 1
        neg = [s[c] for c, _ in N]
        logps = []
        for c, w in P:
            if den_mode == "all":
                terms = [s[q] for q, _ in P] + neg
            elif den_mode == "one-positive":
                terms = [s[c]] + neg
            else:
                terms = neg
            logps.append((w, s[c] - torch.logsumexp(torch.stack(terms), 0)))
        W = sum(w for w, _ in logps)
        if o.get("variant", "out") == "out":
            losses.append(-sum(w * lp for w, lp in logps) / W)
        else:
            losses.append(-torch.log(sum(w * torch.exp(lp) for w, lp in logps) / W))
    if count == 0:
        return features.sum() * 0
    return (T / base) * torch.stack(losses).sum() / count


def unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


def multi_hot(n, classes, p=0.35):
    rows = (torch.rand(n, classes) < p).int().tolist()
    return rows


cases = []


def add(name, B, V, D, labels=None, M=0, mem_labels=None, **o):
    o.setdefault("temperature", 0.2)
    f = unit(torch.randn(B, V, D, dtype=torch.float64)).requires_grad_(True)
    memory = unit(torch.randn(M, D, dtype=torch.float64)) if M else None
    loss = loss_fn(f, labels, memory, mem_labels, o)
    (g,) = torch.autograd.grad(loss, f)
    cases.append(
        {
            "name": name,
            "features": f.detach().tolist(),
            "labels": labels,
            "memory": None if memory is None else {"features": memory.tolist(), "labels": mem_labels},
            "options": o,
            "loss": loss.item(),
            "grad": g.tolist(),
        }
    )


add("memory-out", 5, 2, 4, [0, 1, 0, 2, 1], M=6, mem_labels=[1, 3, 0, 0, 2, 4])
add("memory-in-one", 5, 2, 4, [0, 1, 0, 2, 1], M=6, mem_labels=[1, 3, 0, 0, 2, 4], variant="in", contrastMode="one")
add("memory-only-positive-in-memory", 4, 1, 3, [0, 1, 2, 3], M=4, mem_labels=[0, 0, 2, 5], noPositives="zero")
add("memory-simclr", 4, 2, 3, None, M=5, temperature=0.5)
add("memory-base-temperature", 4, 3, 4, [1, 1, 0, 2], M=3, mem_labels=[2, 1, 9], temperature=0.1, baseTemperature=0.07)
ml = multi_hot(6, 5)
ml[2] = [0, 0, 0, 0, 0]  # an image without labels
add("multi-any", 6, 2, 4, ml, multiLabel="any")
add("multi-jaccard-out", 6, 2, 4, ml, multiLabel="jaccard")
add("multi-jaccard-in", 6, 2, 4, ml, multiLabel="jaccard", variant="in")
add("multi-jaccard-memory", 6, 2, 4, ml, M=4, mem_labels=multi_hot(4, 5), multiLabel="jaccard")
lab = [0, 0, 0, 1, 1, 2]
for den in ["one-positive", "only-negatives"]:
    for variant in ["out", "in"]:
        add(f"{den}-{variant}", 6, 2, 4, lab, denominator=den, variant=variant)
# Images 0 and 3 share a label with every other image: no negative for 'only-negatives'.
nn = [[1, 1], [1, 0], [0, 1], [1, 1]]
add("only-negatives-no-negative", 4, 2, 3, nn, denominator="only-negatives")
add("only-negatives-no-negative-zero", 4, 2, 3, nn, denominator="only-negatives", noPositives="zero", variant="in")
add("one-positive-one-class", 3, 2, 3, [3, 3, 3], denominator="one-positive")
add("one-positive-memory-jaccard", 6, 2, 4, ml, M=4, mem_labels=multi_hot(4, 5), multiLabel="jaccard", denominator="one-positive", variant="in")
add("cap-2views", 8, 2, 4, [0, 0, 0, 0, 1, 1, 1, 2], positivesCap=2, seed=3)
add("cap-1view-memory", 6, 1, 4, [0, 0, 0, 1, 1, 0], M=5, mem_labels=[0, 1, 0, 0, 2], positivesCap=2, seed=11)
add("cap-2views-memory-mixed", 6, 2, 3, [0, 0, 0, 1, 1, 0], M=5, mem_labels=[0, 1, 0, 0, 2], positivesCap=4, seed=5)
add("cap-0", 6, 2, 3, [0, 0, 0, 1, 1, 0], positivesCap=0)
add("cap-jaccard-only-negatives-in", 6, 2, 4, ml, M=4, mem_labels=multi_hot(4, 5), multiLabel="jaccard", positivesCap=2, seed=9, denominator="only-negatives", variant="in")
add("cap-one-positive-one", 8, 2, 4, [0, 0, 0, 0, 1, 1, 1, 2], positivesCap=2, seed=1, denominator="one-positive", contrastMode="one")

json.dump({"cases": cases}, open("reference_options.json", "w"), indent=1)
print("\n".join(f"{c['name']}: {c['loss']:.6f}" for c in cases))
