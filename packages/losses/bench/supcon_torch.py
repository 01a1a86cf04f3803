"""PyTorch side of the supConLoss benchmark: forward + backward, batch 1024, 2 views, dim 128."""
import json, sys, time
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
b, v, d, reps = 1024, 2, 128, 5
torch.manual_seed(0)
f = torch.nn.functional.normalize(torch.randn(b, v, d), dim=-1).requires_grad_(True)
labels = torch.randint(0, 100, (b,))

def supcon(features, labels, t=0.1):
    contrast = torch.cat(torch.unbind(features, 1), 0)
    logits = contrast @ contrast.T / t
    logits = logits - logits.max(1, keepdim=True).values.detach()
    mask = (labels.view(-1, 1) == labels.view(1, -1)).float().repeat(v, v)
    n = b * v
    logits_mask = torch.ones(n, n)
    logits_mask[torch.arange(n), torch.arange(n)] = 0
    mask = mask * logits_mask
    log_prob = logits - torch.log((torch.exp(logits) * logits_mask).sum(1, keepdim=True))
    return -((mask * log_prob).sum(1) / mask.sum(1).clamp(min=1)).mean()

times = []
for i in range(reps + 1):
    start = time.perf_counter()
    loss = supcon(f, labels)
    loss.backward()
    f.grad = None
    if i > 0:
        times.append(time.perf_counter() - start)
print(json.dumps({"ms": 1000 * sorted(times)[len(times) // 2], "threads": torch.get_num_threads()}))
