"""Reference train-step throughput in PyTorch (CPU) for the models of train-step.bench.ts.

Usage: python3 train_step_torch.py [small|resnet18|all] [--steps N] [--batch B] [--threads T]
Prints one JSON line per model: {"model", "batch", "images_per_s", "threads", "peak_rss_mb"}.
Reference only: never a dependency of the package.
"""
import argparse, json, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    def __init__(self, cin, stem, stages, proj):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(cin, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem, eps=1e-3, momentum=0.01), nn.ReLU())
        blocks, c = [], stem
        for cout, n, stride in stages:
            for i in range(n):
                blocks.append(Block(c, cout, stride if i == 0 else 1))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, proj)

    def forward(self, x):
        y = self.blocks(self.stem(x))
        return self.head(y.mean(dim=(2, 3)))


MODELS = {
    # name: (in channels, size, stem, stages [(channels, blocks, stride)], projection)
    'small': (1, 28, 32, [(32, 1, 1), (64, 1, 2), (128, 1, 2)], 64),
    'resnet18': (3, 32, 64, [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)], 128),
}


def contrastive_loss(z, labels, temperature=0.1):
    z = F.normalize(z, dim=1)
    sim = z @ z.t() / temperature
    eye = torch.eye(z.shape[0])
    sim = sim - eye * 1e9
    pos = (labels[:, None] == labels[None, :]).float() * (1 - eye)
    target = pos / pos.sum(1, keepdim=True).clamp(min=1)
    return -(target * F.log_softmax(sim, dim=1)).sum(1).mean()


def run(name, batch, steps, warmup):
    cin, size, stem, stages, proj = MODELS[name]
    torch.manual_seed(0)
    model = ResNet(cin, stem, stages, proj)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(batch, cin, size, size)
    labels = torch.arange(batch) % 10
    model.train()

    def step():
        opt.zero_grad()
        loss = contrastive_loss(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    return {'model': name, 'batch': batch, 'images_per_s': batch * steps / dt, 'threads': torch.get_num_threads(),
            'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('model', nargs='?', default='all')
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--threads', type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    for name in (MODELS if a.model == 'all' else [a.model]):
        print(json.dumps(run(name, a.batch, a.steps, a.warmup)), flush=True)
