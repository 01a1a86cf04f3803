"""The PyTorch side of run.bench.ts: a whole training run with train()'s recipe, timed the same way.

Usage (run.bench.ts calls it; Debian's python3-torch, CPU):
  python3 run_torch.py --data DIR --stage supcon|ce --model small-cnn|resnet [--resnet-width 0.5]
      [--epochs 1] [--batch 128] [--views 2] [--warmup 2] [--threads T] [--seed 0] [--out DIR]

DIR holds what run.bench.ts wrote from the project's own dataset (the same N training images):
train.u8 / train-labels.u8 / test.u8 / test-labels.u8 (uint8, N x H x W x C) and shape.json.

The recipe, mirrored from @supcon/train's defaults and examples/fashion-mnist-repro:
- model: @supcon/backbones' small-cnn 32/64/128 (3x3 conv without bias, BN eps 1e-5 momentum 0.1,
  ReLU; the second and third stride 2; global average pooling) or resnet-18 with the CIFAR stem and
  widths x resnet-width; SupCon: MLP head Linear(f, f)-ReLU-Linear(f, 128), L2-normalised;
  cross-entropy: Linear(f, classes) on the features, one view.
- augmentation, per image, with tensor ops: RandomResizedCrop scale [0.5, 1], ratio [3/4, 4/3]
  (torchvision's get_params; bilinear, half-pixel centres, no antialias), horizontal flip p 0.5,
  brightness factor in [0.6, 1.4] with p 0.8 (clamp(f * x, 0, 1)); no contrast/saturation/hue/grayscale.
- batches: a random permutation per epoch, batch 128, drop_last.
- SGD lr 0.05, momentum 0.9, weight decay 1e-4 on kernels only (parameters of rank >= 2), cosine
  schedule per step with one warm-up epoch (@supcon/optim's cosineSchedule).
- SupCon L_out, temperature 0.1 (base temperature = temperature; every view an anchor), or
  softmax cross-entropy.
- every step: the global gradient norm, the loss and norm read, a metrics line (flushed);
  every epoch: the 20-NN monitor (500 test images against 2000 training images, evenly spaced,
  cosine similarity, votes exp(sim / 0.1)) and a checkpoint (model + optimizer, written to a
  temporary file, fsync, rename).

The first --warmup steps are not timed. Prints one JSON line: images_per_s, wall_s, cpu_s (process
CPU seconds, every thread), steps, images, threads, torch, final_loss (the last epoch's mean loss),
monitor_knn_top1, phases (ms per phase over the timed span).
Reference only: never a dependency of the package.
"""
import argparse
import json
import math
import os
import random
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PHASES = ['augmentation', 'batching', 'forward', 'loss', 'backward', 'optimizer', 'monitor', 'io']


def conv(cin, cout, k, stride):
    c = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
    nn.init.kaiming_normal_(c.weight, mode='fan_out', nonlinearity='relu')
    return c


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class SmallCnn(nn.Module):
    """@supcon/backbones smallCnn({ channels }): conv-BN-ReLU stem, then one stride-2 conv-BN-ReLU per further width."""

    def __init__(self, cin, channels):
        super().__init__()
        layers, c = [conv(cin, channels[0], 3, 1), bn(channels[0]), nn.ReLU()], channels[0]
        for w in channels[1:]:
            layers += [conv(c, w, 3, 2), bn(w), nn.ReLU()]
            c = w
        self.body = nn.Sequential(*layers)
        self.dim = c

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = conv(cin, cout, 3, stride), bn(cout)
        self.c2, self.b2 = conv(cout, cout, 3, 1), bn(cout)
        self.short = nn.Sequential(conv(cin, cout, 1, stride), bn(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet18(nn.Module):
    """@supcon/backbones resnet({ depth: 18, stem: 'cifar', widthMultiplier })."""

    def __init__(self, cin, width):
        super().__init__()
        widths = [max(1, round(w * width)) for w in (64, 128, 256, 512)]
        self.stem = nn.Sequential(conv(cin, widths[0], 3, 1), bn(widths[0]), nn.ReLU())
        blocks, c = [], widths[0]
        for stage, w in enumerate(widths):
            for i in range(2):
                blocks.append(Basic(c, w, 2 if i == 0 and stage > 0 else 1))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.dim = c

    def forward(self, x):
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


class Model(nn.Module):
    def __init__(self, encoder, stage, classes, proj=128):
        super().__init__()
        self.encoder, self.stage = encoder, stage
        f = encoder.dim
        if stage == 'ce':
            self.out = nn.Linear(f, classes)
        else:
            self.out = nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, proj))

    def forward(self, x):
        y = self.out(self.encoder(x))
        return y if self.stage == 'ce' else F.normalize(y, dim=1)


def supcon_loss(z, labels, views, temperature=0.1):
    """SupContrast's SupConLoss (L_out, contrast_mode 'all', base_temperature = temperature) on view-major rows."""
    n = z.shape[0]
    logits = z @ z.t() / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    lab = labels.repeat(views)
    not_self = 1 - torch.eye(n)
    pos = (lab[:, None] == lab[None, :]).float() * not_self
    log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(1, keepdim=True))
    return -((pos * log_prob).sum(1) / pos.sum(1)).mean()


def crop_box(rng, h, w, scale, ratio):
    """torchvision RandomResizedCrop.get_params (as @supcon/augment's sampleCropBox)."""
    area = h * w
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(lo, hi))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return rng.randint(0, h - ch), rng.randint(0, w - cw), ch, cw
    r = w / h
    cw, ch = w, h
    if r < ratio[0]:
        ch = round(cw / ratio[0])
    elif r > ratio[1]:
        cw = round(ch * ratio[1])
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def augment(x, rng, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), p_flip=0.5, brightness=0.4, p_jitter=0.8):
    """One view of every image of x [b, c, h, w] in [0, 1], image by image."""
    b, _, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(b):
        top, left, ch, cw = crop_box(rng, h, w, scale, ratio)
        img = F.interpolate(x[i:i + 1, :, top:top + ch, left:left + cw], size=(h, w), mode='bilinear', align_corners=False)
        if rng.random() < p_flip:
            img = torch.flip(img, dims=[3])
        if rng.random() < p_jitter:
            img = (img * rng.uniform(max(0.0, 1 - brightness), 1 + brightness)).clamp_(0, 1)
        out[i] = img[0]
    return out


def cosine_factor(step, steps_per_epoch, total, warmup_epochs=1.0):
    """@supcon/optim cosineSchedule({ warmupEpochs }).factor."""
    warmup = min(total, round(warmup_epochs * steps_per_epoch))
    if step < warmup:
        return (step + 1) / warmup
    span = total - warmup - 1
    p = min(1, (step - warmup) / span) if span > 0 else 0
    return 0.5 * (1 + math.cos(math.pi * p))


def evenly_spaced(size, n):
    m = min(size, n)
    return torch.tensor([(i * size) // m for i in range(m)], dtype=torch.long)


def to_float(u8):
    """uint8 [n, h, w, c] -> float32 [n, c, h, w] in [0, 1]."""
    return u8.permute(0, 3, 1, 2).float().div_(255)


@torch.no_grad()
def monitor(model, train_x, train_y, test_x, test_y, classes, k=20, tau=0.1):
    """@supcon/train's monitorAccuracy: weighted 20-NN top-1 on the encoder's features."""
    model.eval()
    ti, si = evenly_spaced(len(train_y), 2000), evenly_spaced(len(test_y), 500)
    a = F.normalize(model.encoder(to_float(train_x[ti])), dim=1)
    q = F.normalize(model.encoder(to_float(test_x[si])), dim=1)
    model.train()
    vals, idx = (q @ a.t()).topk(min(k, len(ti)), dim=1)
    scores = torch.zeros(len(si), classes).scatter_add_(1, train_y[ti][idx], torch.exp(vals / tau))
    return (scores.argmax(1) == test_y[si]).float().mean().item()


def save_checkpoint(state, path):
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--stage', choices=['supcon', 'ce'], default='supcon')
    p.add_argument('--model', choices=['small-cnn', 'resnet'], default='small-cnn')
    p.add_argument('--resnet-width', type=float, default=0.5)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--views', type=int, default=2)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='')
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    with open(os.path.join(a.data, 'shape.json')) as f:
        meta = json.load(f)
    h, w, c = meta['shape']

    def load(name, n):
        images = np.fromfile(os.path.join(a.data, f'{name}.u8'), dtype=np.uint8).reshape(n, h, w, c)
        labels = np.fromfile(os.path.join(a.data, f'{name}-labels.u8'), dtype=np.uint8)
        return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))

    train_x, train_y = load('train', meta['train'])
    test_x, test_y = load('test', meta['test'])
    classes = meta['classes']
    views = 1 if a.stage == 'ce' else a.views

    encoder = SmallCnn(c, [32, 64, 128]) if a.model == 'small-cnn' else ResNet18(c, a.resnet_width)
    model = Model(encoder, a.stage, classes)
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    base_lr = 0.05
    opt = torch.optim.SGD(
        [{'params': [q for q in params if q.dim() >= 2], 'weight_decay': 1e-4}, {'params': [q for q in params if q.dim() < 2], 'weight_decay': 0.0}],
        lr=base_lr, momentum=0.9,
    )

    out_dir = a.out or tempfile.mkdtemp(prefix='supcon-torch-run-')
    metrics = open(os.path.join(out_dir, 'metrics.jsonl'), 'w')
    n = len(train_y)
    steps_per_epoch = n // a.batch
    total = steps_per_epoch * a.epochs
    ms = dict.fromkeys(PHASES, 0.0)
    counting = False
    t_start = c_start = None
    seen = images = 0
    now = time.perf_counter

    def add(phase, since):
        t = now()
        if counting:
            ms[phase] += (t - since) * 1000
        return t

    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            if seen == a.warmup:
                counting, t_start, c_start = True, now(), time.process_time()
            step = epoch * steps_per_epoch + s
            lr = base_lr * cosine_factor(step, steps_per_epoch, total)
            for g in opt.param_groups:
                g['lr'] = lr
            t = now()
            idx = perm[s * a.batch:(s + 1) * a.batch]
            xb, yb = to_float(train_x[idx]), train_y[idx]
            t = add('batching', t)
            x = torch.cat([augment(xb, rng) for _ in range(views)]) if views > 1 else augment(xb, rng)
            t = add('augmentation', t)
            out = model(x)
            t = add('forward', t)
            loss = F.cross_entropy(out, yb) if a.stage == 'ce' else supcon_loss(out, yb, views)
            t = add('loss', t)
            loss.backward()
            t = add('backward', t)
            norm = torch.sqrt(sum((q.grad * q.grad).sum() for q in params))
            value, grad_norm = loss.item(), norm.item()
            if math.isfinite(value) and math.isfinite(grad_norm):
                opt.step()
            opt.zero_grad(set_to_none=True)
            t = add('optimizer', t)
            metrics.write(json.dumps({'kind': 'step', 'epoch': epoch, 'step': s, 'globalStep': step, 'loss': value, 'gradNorm': grad_norm, 'lr': lr}) + '\n')
            metrics.flush()
            add('io', t)
            loss_sum += value
            seen += 1
            if counting:
                images += len(idx)
        t = now()
        knn = monitor(model, train_x, train_y, test_x, test_y, classes)
        t = add('monitor', t)
        metrics.write(json.dumps({'kind': 'epoch', 'epoch': epoch, 'loss': loss_sum / max(1, steps_per_epoch), 'monitorKnnTop1': knn}) + '\n')
        metrics.flush()
        save_checkpoint({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': epoch + 1}, os.path.join(out_dir, f'epoch-{epoch + 1:04d}.pt'))
        add('io', t)
    if not counting:
        raise SystemExit(f'run_torch.py: {seen} steps, none timed after {a.warmup} warm-up steps: use more images or epochs')
    wall = now() - t_start
    cpu = time.process_time() - c_start
    metrics.close()
    ms['idle'] = max(0.0, wall * 1000 - sum(ms[k] for k in PHASES))
    print(json.dumps({
        'stage': a.stage, 'model': a.model, 'images_per_s': images / wall, 'wall_s': wall, 'cpu_s': cpu,
        'steps': seen - a.warmup, 'images': images, 'threads': torch.get_num_threads(), 'torch': torch.__version__,
        'final_loss': loss_sum / max(1, steps_per_epoch), 'monitor_knn_top1': knn, 'phases': ms,
    }), flush=True)


if __name__ == '__main__':
    main()
