"""Continues a run of the jumpout library on PyTorch's DistributedDataParallel.

Each process builds the network from the library's export (`exportTorch`'s
Python source), restores the library's checkpoint into it and into
torch.optim.SGD (Nesterov momentum, as the library's runs), and trains on its
shard of every batch: the rows the library's data-parallel workers would
take, with the masks they would draw (jumpout_torch.shard_model). Gradients
are averaged by DDP; BatchNorm's running statistics are averaged after each
step, as the library's workers average theirs. Launch with torchrun (which
sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT):

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d \\
        --rdzv_endpoint HOST:29500 python/continue_ddp.py \\
        --module model.py --checkpoint checkpoint.safetensors \\
        --data batches.safetensors --batch 128 --steps 1000 --lr 0.01 \\
        --out state.safetensors --checkpoint-out continued.safetensors

`--data` is a safetensors file of standardised inputs `x` [N, *INPUT_SHAPE]
(float32) and `labels` [N] (int64); step s trains on rows
[s * batch, (s + 1) * batch) modulo N. Process 0 writes the state dict
(`--out`, for importTorch) and a library checkpoint (`--checkpoint-out`, for
DataParallel to resume) and prints one JSON line: the loss over `--data` in
evaluation mode before and after, each step's mean training loss, and the
logits of the first `--logits` rows.
"""

import argparse
import importlib.util
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jumpout_torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", required=True, help="exportTorch's Python source")
    parser.add_argument("--checkpoint", required=True, help="the library's checkpoint")
    parser.add_argument("--data", required=True, help="safetensors with x and labels")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--q-plus", choices=("shard", "global"), default="shard")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--logits", type=int, default=16)
    parser.add_argument("--out", help="the state dict, as safetensors")
    parser.add_argument("--checkpoint-out", help="a checkpoint of the library")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    spec = importlib.util.spec_from_file_location("exported", args.module)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    model = exported.build_model()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=args.momentum, nesterov=True, weight_decay=args.weight_decay
    )
    header = jumpout_torch.load_checkpoint(args.checkpoint, model, optimizer)
    data, _ = jumpout_torch.read_safetensors(args.data)
    x, labels = data["x"], data["labels"]
    offset, rows = jumpout_torch.shard_model(model, rank, world, args.batch, q_plus=args.q_plus)
    ddp = DistributedDataParallel(model, broadcast_buffers=False)

    before = evaluate(model, x, labels)
    losses = []
    for s in range(args.steps):
        start = (s * args.batch) % len(x)
        index = torch.arange(start, start + args.batch) % len(x)
        part = index[offset : offset + rows]
        ddp.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(ddp(x[part]), labels[part])
        loss.backward()
        optimizer.step()
        average_buffers(model, world)
        total = loss.detach() * rows
        dist.all_reduce(total)
        losses.append(float(total) / args.batch)
    after = evaluate(model, x, labels)
    if rank == 0:
        if args.out:
            jumpout_torch.save_state_dict_file(model, args.out)
        if args.checkpoint_out:
            data = jumpout_torch.save_checkpoint(model, optimizer, header["step"] + args.steps, header["metadata"])
            with open(args.checkpoint_out, "wb") as f:
                f.write(data)
        model.eval()
        with torch.no_grad():
            logits = model(x[: args.logits]).flatten().tolist()
        print(json.dumps({"lossBefore": before, "lossAfter": after, "losses": losses, "logits": logits}))
    dist.destroy_process_group()


def evaluate(model, x, labels):
    """Mean cross-entropy over all rows in evaluation mode."""
    model.eval()
    with torch.no_grad():
        return float(F.cross_entropy(model(x), labels))


def average_buffers(model, world):
    """The mean of every floating-point buffer over the processes."""
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer.div_(world)


if __name__ == "__main__":
    main()
