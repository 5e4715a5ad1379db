"""PyTorch's training of the pre-activation ResNet-20 on the CPU: the point of
comparison for the `resnet20` rows of `deno task bench:train`.

The network is this library's `preactResNet({ regularizer: "jumpout" })` for
1x28x28 images, layer for layer: a 3x3 stem convolution 1->16 without bias;
three stages of three blocks (16, 32, 64 channels; the second and third start
with stride 2), each BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> dropout ->
conv3x3, where a shape change makes the shortcut a strided 1x1 convolution
(no bias) of the pre-activated input (the block's first BN -> ReLU runs before
the split and feeds both branches), the identity otherwise; then BN -> ReLU ->
global average pooling -> linear 64->10. PyTorch has no Jumpout:
nn.Dropout(0.1) stands in. The network is built by `python/_preact_resnet.py`,
which `python/torch_fashion_resnet.py` shares. SGD with Nesterov momentum 0.9,
lr 0.1, weight decay 5e-4, cross-entropy, the loss read back every step; the
batch is the benchmark's fixed synthetic one (`syntheticBatch` in
`_train_models.ts`).

Run by Debian's interpreter, `/usr/bin/python3` (python3-torch):

    /usr/bin/python3 bench/torch_resnet.py [--threads 1] [--batch 128] [--steps 10]
        prints the median ms per step, samples/s and the peak resident memory
    /usr/bin/python3 bench/torch_resnet.py --serve [--threads 1] [--batch 128]
        prints one JSON line about the build, then runs one step per line
        "step" on stdin and answers each with one line, {"loss": ...}

Exit status 3 with a message on stderr when torch cannot be imported.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--batch", type=int, default=128)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--serve", action="store_true")
args = parser.parse_args()
# OpenBLAS (Debian's libblas.so.3) keeps a thread pool of its own, which
# torch.set_num_threads does not reach; it reads this when it loads.
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:
    print(f"Cannot run the PyTorch benchmark: torch is missing: {error}", file=sys.stderr)
    sys.exit(3)

# The network's module lives in python/, beside the script that trains it;
# no __pycache__ left in the work tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from _preact_resnet import preact_resnet  # noqa: E402

DROPOUT_RATE = 0.1
CLASSES = 10


def synthetic_batch(batch, seed=1):
    """The batch of `syntheticBatch` in `_train_models.ts`: the same linear
    congruential stream, inputs in [0, 1) then labels."""
    s = seed & 0xFFFFFFFF
    values = []
    for _ in range(batch * 28 * 28 + batch):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        values.append(s / 2**32)
    x = torch.tensor(values[: batch * 784], dtype=torch.float32).reshape(batch, 1, 28, 28)
    labels = torch.tensor([int(v * CLASSES) for v in values[batch * 784 :]], dtype=torch.int64)
    return x, labels


def mapped_libraries(*names):
    """Which of `names` appear among the shared libraries this process has
    mapped (after a step, those the step used have been loaded)."""
    with open("/proc/self/maps") as maps:
        text = maps.read()
    return [n for n in names if n in text]


def conv_kernel(model, x):
    """The ATen operator that runs the convolutions' forward: mkldnn_convolution
    where oneDNN does it, slow_conv2d (im2col + BLAS) otherwise."""
    with torch.autograd.profiler.profile() as prof:
        with torch.no_grad():
            model(x)
    names = {e.name for e in prof.function_events}
    found = [n for n in ("aten::mkldnn_convolution", "aten::_slow_conv2d_forward", "aten::thnn_conv2d") if n in names]
    return found[0].removeprefix("aten::") if found else "unknown"


def prepare(threads, batch):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = preact_resnet(depth=20, classes=CLASSES, dropout=DROPOUT_RATE)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x, labels = synthetic_batch(batch)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, x, step


def info(model, x, step):
    step()
    return {
        "torchVersion": torch.__version__,
        "torchThreads": torch.get_num_threads(),
        "torchOneDnn": torch.backends.mkldnn.is_available(),
        "torchConv": conv_kernel(model, x),
        "torchLibraries": mapped_libraries("libopenblas", "libblas", "libdnnl", "libmkl", "libgomp"),
        "torchParameters": sum(p.numel() for p in model.parameters()),
        # libgomp's threads spin at barriers unless this says PASSIVE: on a
        # busy machine, spinning threads wait out each other's time slices.
        "torchOmpWaitPolicy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }


def main():
    model, x, step = prepare(args.threads, args.batch)
    print(json.dumps(info(model, x, step)), flush=True)
    if args.serve:
        for line in sys.stdin:
            if line.strip() != "step":
                print(f"Cannot run the PyTorch benchmark: expected step, got {line.strip()!r}", file=sys.stderr)
                sys.exit(2)
            print(json.dumps({"loss": step()}), flush=True)
        return
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    print(json.dumps({
        "threads": args.threads,
        "batch": args.batch,
        "medianMsPerStep": round(ms, 1),
        "samplesPerSec": round(args.batch / ms * 1000, 1),
        "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
