"""Reference trajectories for @supcon/optim's tests, from torch.optim (run: /usr/bin/python3 make_reference.py).

Problem: w [2,2] (decayed), b [2] (not decayed); loss = sum((x @ w + b - y)^2)."""
import json
import torch

x = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]], dtype=torch.float64)
y = torch.tensor([[0.5, -1.0], [2.0, 0.0], [-0.5, 1.5]], dtype=torch.float64)
w0 = [[0.2, -0.3], [0.4, 0.1]]
b0 = [0.05, -0.02]

def run(make, steps=4):
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    opt = make(w, b)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).sum()
        loss.backward()
        opt.step()
        out.append({"w": w.detach().tolist(), "b": b.detach().tolist()})
    return out

cases = {
    "sgd_nesterov": run(lambda w, b: torch.optim.SGD([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0}], lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_momentum": run(lambda w, b: torch.optim.SGD([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0}], lr=0.05, momentum=0.9)),
    "adam": run(lambda w, b: torch.optim.Adam([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0}], lr=0.05)),
    "adamw": run(lambda w, b: torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0}], lr=0.05)),
}
json.dump({"x": x.tolist(), "y": y.tolist(), "w0": w0, "b0": b0, "cases": cases}, open("reference.json", "w"), indent=1)
