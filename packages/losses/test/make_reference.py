"""Reference values for @supcon/losses tests, computed with PyTorch (run: /usr/bin/python3 make_reference.py).

An independent re-implementation of the SupContrast reference loss (Khosla et al.), written for
these tests: anchors without positives count as 0 (SupContrast's behaviour = noPositives 'zero').
"""
import json
import torch

torch.manual_seed(0)


def supcon(features, labels=None, temperature=0.1, base_temperature=None, contrast_mode="all"):
    base_temperature = temperature if base_temperature is None else base_temperature
    b, v, d = features.shape
    if labels is None:
        mask = torch.eye(b, dtype=torch.float64)
    else:
        labels = labels.view(-1, 1)
        mask = (labels == labels.T).double()
    contrast = torch.cat(torch.unbind(features, dim=1), dim=0)  # view-major
    if contrast_mode == "one":
        anchor, anchor_count = features[:, 0], 1
    else:
        anchor, anchor_count = contrast, v
    logits = anchor @ contrast.T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    mask = mask.repeat(anchor_count, v)
    logits_mask = torch.ones_like(mask)
    idx = torch.arange(b * anchor_count)
    logits_mask[idx, idx] = 0
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    pos = mask.sum(1)
    pos = torch.where(pos < 1e-6, torch.ones_like(pos), pos)
    mean_log_prob_pos = (mask * log_prob).sum(1) / pos
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return loss.mean()


cases = []
for name, b, v, d, labels, t, bt, mode in [
    ("labels-2views", 6, 2, 5, [0, 1, 0, 2, 1, 0], 0.1, None, "all"),
    ("labels-3views-base", 5, 3, 4, [1, 1, 0, 0, 2], 0.5, 0.07, "all"),
    ("simclr", 4, 2, 3, None, 0.2, None, "all"),
    ("mode-one", 6, 2, 4, [0, 0, 1, 1, 2, 2], 0.1, None, "one"),
    ("singleton-zero", 4, 1, 3, [0, 0, 1, 2], 0.3, None, "all"),
]:
    f = torch.nn.functional.normalize(torch.randn(b, v, d, dtype=torch.float64), dim=-1).requires_grad_(True)
    lab = None if labels is None else torch.tensor(labels)
    loss = supcon(f, lab, t, bt, mode)
    (g,) = torch.autograd.grad(loss, f)
    cases.append({"name": name, "features": f.detach().tolist(), "labels": labels, "temperature": t, "baseTemperature": bt, "contrastMode": mode, "loss": loss.item(), "grad": g.tolist()})

json.dump({"cases": cases}, open("reference.json", "w"), indent=1)
print("\n".join(f"{c['name']}: {c['loss']:.6f}" for c in cases))
