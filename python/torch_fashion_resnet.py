"""Trains PyTorch's pre-activation ResNet on Fashion-MNIST the way this
library's ResNet experiment trains its own (`cli/_fit.ts` with `augment: true`),
to compare test accuracy at an equal budget.

The same in both: the network (`_preact_resnet.py`, layer for layer the
library's `preactResNet`, with nn.Dropout(rate) between each block's two
convolutions), He-normal weights and zero biases (`--init he`, the default),
pixels scaled to [0, 1] then standardised with mean 0.286 and deviation 0.353,
random crops of the image padded by 4 black pixels and horizontal flips with
probability 1/2, mini-batches of a fresh shuffle each epoch with the last
partial batch dropped, cross-entropy, SGD with Nesterov momentum 0.9 and
weight decay 5e-4, and `cosineSchedule`'s rate: a linear warmup over
min(steps per epoch, total steps / 5) steps, then a half cosine from `--lr`
to 0. A subset (`--train-images N`) is the first N images of the library's
fixed split permutation, so both train on the same images. What differs is
the random streams: the shuffle, crops, flips, weights and dropout masks come
from torch's generators seeded by `--seed`, not from the library's.

Run by Debian's interpreter, `/usr/bin/python3` (python3-torch):

    /usr/bin/python3 python/torch_fashion_resnet.py --depth 20 --rate 0.1 \\
        --epochs 15 --seed 1 --threads 2 [--batch 128] [--lr 0.1] \\
        [--train-images N] [--test-images N] [--data DIR] [--init he|torch]
        prints one JSON line per epoch, {"epoch", "trainLoss",
        "trainAccuracy", "evalLoss", "evalAccuracy", "seconds",
        "samplesPerSec"} (seconds: the epoch's training wall time), then
        {"done": true, "torch", "threads", "trainImages", "testImages"};
        progress goes to stderr
    /usr/bin/python3 python/torch_fashion_resnet.py --print-schedule 4,3 [--lr 0.1]
        prints {"warmupSteps", "lr": [...]}, the rate of every step of 3
        epochs of 4 steps, without importing torch

Exit status 2 on a bad argument, 3 with a message on stderr when torch cannot
be imported, 1 when the data cannot be read.
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np

# As `cli/_fit.ts`: the training set's pixel statistics, the padding of the
# crops, the split's seed, and the optimiser's fixed settings.
PIXEL_MEAN = 0.286
PIXEL_STD = 0.353
PAD = 4
PAD_FILL = (0 - PIXEL_MEAN) / PIXEL_STD
SPLIT_SEED = 20171025
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
SIDE = 28
CLASSES = 10
EVAL_CHUNK = 1000
PROGRESS_EVERY = 50

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist/"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def cosine_lr(step, lr, total_steps, warmup_steps):
    """`cosineSchedule({ lr, totalSteps, warmupSteps })(step)` with minLr 0."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return 0.0
    t = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr * (1 + math.cos(math.pi * t)) / 2


def warmup_of(steps_per_epoch, epochs):
    """`cli/_fit.ts`'s warmup: one epoch, or a fifth of the run if shorter."""
    return min(steps_per_epoch, (steps_per_epoch * epochs) // 5)


def permutation(n, seed):
    """`permutation(n, seed)` of `cli/_fit.ts`: xorshift32, Fisher-Yates."""
    mask = 0xFFFFFFFF
    order = list(range(n))
    s = ((seed & mask) * 2654435761) & mask or 1
    for i in range(n - 1, 0, -1):
        s ^= (s << 13) & mask
        s ^= s >> 17
        s ^= (s << 5) & mask
        j = s % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


class DataError(Exception):
    pass


def read_idx(directory, name):
    """The array in idx file `name` (gzipped as `name.gz`, or not)."""
    for candidate, opener in ((name + ".gz", gzip.open), (name, open)):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            break
    else:
        raise DataError(f"{name}.gz (or {name}) is missing from {directory}")
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise DataError(f"{path} cannot be read: {error}") from error
    if len(data) < 4 or data[0:3] != b"\x00\x00\x08":
        raise DataError(f"{path} must be an idx file of unsigned bytes, got the header {data[:4].hex()}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} must hold {ndim} dimensions in its header, got {len(data)} bytes")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    body = np.frombuffer(data, dtype=np.uint8, offset=header)
    if body.size != math.prod(dims):
        raise DataError(f"{path} must hold {' x '.join(map(str, dims))} bytes after its header, got {body.size}")
    return body.reshape(dims)


def load_split(directory, split):
    """Images (N x 28 x 28 bytes) and labels (N) of `train` or `test`."""
    image_file, label_file = FILES[split]
    images = read_idx(directory, image_file)
    labels = read_idx(directory, label_file)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{image_file} must hold {SIDE} x {SIDE} images, got the shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{label_file} must hold one label per image ({images.shape[0]}), got the shape {labels.shape}")
    if labels.size and labels.max() >= CLASSES:
        raise DataError(f"{label_file} must hold labels below {CLASSES}, got {labels.max()}")
    return images, labels


def standardized(torch, images, indices):
    """The images at `indices` as a float32 N x 1 x 28 x 28 tensor, scaled
    to [0, 1] then standardised."""
    x = images[np.asarray(indices, dtype=np.int64)].astype(np.float32)
    x /= 255
    x -= PIXEL_MEAN
    x /= PIXEL_STD
    return torch.from_numpy(x).unsqueeze(1)


def augment(torch, x, generator):
    """`augmentImages` with padding 4, flips and the black pixel's fill:
    out[i][j] = x[i + dy][j' + dx], j' = width - 1 - j when mirrored, else j,
    the fill outside the image; dy, dx uniform in [-4, 4]."""
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (PAD, PAD, PAD, PAD), value=PAD_FILL)
    dy = torch.randint(-PAD, PAD + 1, (n, 1), generator=generator)
    dx = torch.randint(-PAD, PAD + 1, (n, 1), generator=generator)
    mirrored = torch.rand((n, 1), generator=generator) < 0.5
    i = torch.arange(h)
    j = torch.arange(w)
    rows = i + dy + PAD
    cols = torch.where(mirrored, w - 1 - j, j) + dx + PAD
    rows = rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * PAD)
    cols = cols.view(n, 1, 1, w).expand(n, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def he_init(torch, model):
    """The library's initialisation: weights N(0, 2 / fan in), biases 0."""
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)


def evaluate(torch, model, x, labels):
    """Mean cross-entropy and accuracy over a whole set, in eval mode."""
    model.eval()
    loss = 0.0
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), EVAL_CHUNK):
            logits = model(x[start : start + EVAL_CHUNK])
            y = labels[start : start + EVAL_CHUNK]
            loss += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss / len(labels), correct / len(labels)


def finite_or_none(v):
    """JSON has no NaN: a diverged loss is written as null."""
    return v if math.isfinite(v) else None


def emit(record):
    print(json.dumps(record), flush=True)


def note(message):
    print(message, file=sys.stderr, flush=True)


def parse_args(argv):
    # No abbreviations: a misspelt option fails rather than standing for another.
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--depth", type=int, default=20, help="6n + 2, at least 8 (default 20)")
    parser.add_argument("--rate", type=float, default=0.1, help="nn.Dropout's rate, in [0, 1) (default 0.1)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
    parser.add_argument("--train-images", type=int, help="the first N of the fixed split (default all)")
    parser.add_argument("--test-images", type=int, help="the first N test images (default all)")
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"directory of the idx files (default {DEFAULT_DATA})")
    parser.add_argument("--init", choices=("he", "torch"), default="he", help="he: the library's; torch: PyTorch's default")
    parser.add_argument("--print-schedule", metavar="STEPS_PER_EPOCH,EPOCHS", help="print the rates and exit")
    args = parser.parse_args(argv)

    def bad(option, value, rule):
        parser.error(f"argument {option}: must be {rule}, got {value}")

    if args.depth < 8 or (args.depth - 2) % 6 != 0:
        bad("--depth", args.depth, "6n + 2 (8, 14, 20, 32, ...)")
    if not (0 <= args.rate < 1):
        bad("--rate", args.rate, "in [0, 1)")
    if args.epochs < 1:
        bad("--epochs", args.epochs, "an integer >= 1")
    if not (0 <= args.seed < 2**32):
        bad("--seed", args.seed, "an integer in [0, 2^32)")
    if args.threads < 1:
        bad("--threads", args.threads, "an integer >= 1")
    if args.batch < 1:
        bad("--batch", args.batch, "an integer >= 1")
    if not (math.isfinite(args.lr) and args.lr > 0):
        bad("--lr", args.lr, "a finite number > 0")
    if args.train_images is not None and args.train_images < args.batch:
        bad("--train-images", args.train_images, f"at least one batch (--batch {args.batch})")
    if args.test_images is not None and args.test_images < 1:
        bad("--test-images", args.test_images, "an integer >= 1")
    if args.print_schedule is None and not os.path.isdir(args.data):
        bad("--data", args.data, "an existing directory")
    if args.print_schedule is not None:
        parts = args.print_schedule.split(",")
        if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
            bad("--print-schedule", args.print_schedule, "two integers >= 1, STEPS_PER_EPOCH,EPOCHS")
        args.print_schedule = tuple(map(int, parts))
    return parser, args


def print_schedule(steps_per_epoch, epochs, lr):
    total = steps_per_epoch * epochs
    warmup = warmup_of(steps_per_epoch, epochs)
    emit({"warmupSteps": warmup, "lr": [cosine_lr(s, lr, total, warmup) for s in range(total)]})


def main():
    parser, args = parse_args(sys.argv[1:])
    if args.print_schedule is not None:
        print_schedule(*args.print_schedule, args.lr)
        return
    # OpenBLAS keeps a thread pool of its own that torch.set_num_threads does
    # not reach; it reads this when it loads (as bench/torch_resnet.py).
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    try:
        import torch
    except ImportError as error:
        note(f"Cannot train with PyTorch: torch is missing: {error}")
        sys.exit(3)
    sys.dont_write_bytecode = True  # no __pycache__ left in the work tree
    from _preact_resnet import preact_resnet

    try:
        train_images, train_labels = load_split(args.data, "train")
        test_images, test_labels = load_split(args.data, "test")
    except DataError as error:
        note(f"Cannot load Fashion-MNIST: {error}")
        sys.exit(1)
    available = len(train_labels)
    train_count = available if args.train_images is None else args.train_images
    if train_count > available:
        parser.error(f"argument --train-images: must be at most the {available} training images in {args.data}, got {train_count}")
    test_count = len(test_labels) if args.test_images is None else args.test_images
    if test_count > len(test_labels):
        parser.error(f"argument --test-images: must be at most the {len(test_labels)} test images in {args.data}, got {test_count}")
    if train_count < args.batch:
        parser.error(f"argument --batch: must be at most the {train_count} training images, got {args.batch}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    subset = permutation(available, SPLIT_SEED)[:train_count]
    x_train = standardized(torch, train_images, subset)
    y_train = torch.from_numpy(train_labels[subset].astype(np.int64))
    x_test = standardized(torch, test_images, range(test_count))
    y_test = torch.from_numpy(test_labels[:test_count].astype(np.int64))
    note(f"Fashion-MNIST from {args.data}: {train_count} training images, {test_count} test images")

    model = preact_resnet(depth=args.depth, classes=CLASSES, dropout=args.rate)
    if args.init == "he":
        he_init(torch, model)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY
    )
    steps = train_count // args.batch
    total = steps * args.epochs
    warmup = warmup_of(steps, args.epochs)
    done = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(train_count, generator=generator)
        loss_sum = 0.0
        correct = 0
        started = time.perf_counter()
        for step in range(steps):
            rows = order[step * args.batch : (step + 1) * args.batch]
            x = augment(torch, x_train[rows], generator)
            y = y_train[rows]
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(done, args.lr, total, warmup)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            correct += (logits.argmax(1) == y).sum().item()
            done += 1
            if (step + 1) % PROGRESS_EVERY == 0:
                rate = (step + 1) * args.batch / (time.perf_counter() - started)
                note(f"epoch {epoch} step {step + 1}/{steps}: loss {loss_sum / (step + 1):.4f}, {rate:.0f} samples/s")
        seconds = time.perf_counter() - started
        eval_loss, eval_accuracy = evaluate(torch, model, x_test, y_test)
        emit({
            "epoch": epoch,
            "trainLoss": finite_or_none(loss_sum / steps),
            "trainAccuracy": correct / (steps * args.batch),
            "evalLoss": finite_or_none(eval_loss),
            "evalAccuracy": eval_accuracy,
            "seconds": round(seconds, 3),
            "samplesPerSec": round(steps * args.batch / seconds, 1),
        })
    emit({
        "done": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainImages": train_count,
        "testImages": test_count,
    })


if __name__ == "__main__":
    main()
