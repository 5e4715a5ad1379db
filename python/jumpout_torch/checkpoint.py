"""The library's training checkpoints, read into (and written from) a PyTorch
model and optimiser, so that training continues where it stopped.

A checkpoint holds the model's tensors under the library's names, which are
PyTorch's (`3.body.0.weight`) with one layout difference: a Dense weight is
stored [in, out], nn.Linear's [out, in]. The optimiser's tensors follow under
`optimizer.<parameter>.<slot>`; the metadata holds the training step, the
optimiser's step count and each Jumpout layer's step (`jumpout.maskSteps`).

The optimisers map exactly. The library's SGD (g = grad + weight_decay * w;
v = momentum * v + g; w -= lr * (g + momentum * v) with Nesterov, lr * v
without) is torch.optim.SGD with dampening 0: its velocity is the
`momentum_buffer`. The library's Adam (L2 weight decay added to the gradient,
bias-corrected) is torch.optim.Adam (amsgrad off): `adam_m` and `adam_v` are
`exp_avg` and `exp_avg_sq`, the optimiser's step count is `step`. A checkpoint
holds neither the learning rate nor the other settings: the optimiser given
must be made with the run's (the library's runs use SGD with Nesterov
momentum 0.9, weight decay 5e-4 and a cosine schedule of the step).
"""

import json

import torch
from torch import nn

from .jumpout import jumpout_layers
from .safetensors import read_safetensors, write_safetensors

FORMAT_KEY = "jumpout.checkpoint"
OPTIMIZER_PREFIX = "optimizer."
SLOTS = {"sgd": ("velocity",), "adam": ("adam_m", "adam_v")}


def load_checkpoint(source, model, optimizer=None):
    """Restores a library checkpoint (a path, or its bytes) into `model` (as
    the library's torch export builds it) and, when given, `optimizer`
    (torch.optim.SGD or Adam over model.parameters()). Everything is checked
    before anything changes. Returns {"step", "optimizer_step",
    "mask_steps", "metadata"}."""
    tensors, metadata = read_safetensors(source)
    what = "Cannot load a checkpoint"
    if metadata.get(FORMAT_KEY) != "1":
        raise ValueError(f"{what}: the file is not a checkpoint of the library (format 1), got {FORMAT_KEY} = {metadata.get(FORMAT_KEY)!r}")
    step = int(metadata["jumpout.step"])
    optimizer_step = int(metadata["jumpout.optimizerStep"])
    mask_steps = json.loads(metadata["jumpout.maskSteps"])
    layers = dict(jumpout_layers(model))
    if sorted(layers) != sorted(mask_steps):
        raise ValueError(
            f"{what}: the model's Jumpout and Dropout modules must be where the file has them, "
            f"got modules {sorted(layers)} and a file with {sorted(mask_steps)}"
        )
    transposed = _linear_weights(model)
    updates, problems = [], []
    for name, target in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            updates.append((target, torch.tensor(step, dtype=target.dtype)))
            continue
        value = tensors.get(name)
        if value is None:
            problems.append(f"missing {name!r}")
            continue
        value = value.t() if name in transposed and value.dim() == 2 else value
        if value.dtype != torch.float32 or tuple(value.shape) != tuple(target.shape):
            problems.append(f"{name!r} is {value.dtype} {list(value.shape)} (as PyTorch lays it out), expected float32 {list(target.shape)}")
            continue
        updates.append((target, value))
    model_names = set(model.state_dict())
    extra = [n for n in tensors if not n.startswith(OPTIMIZER_PREFIX) and n not in model_names]
    problems += [f"unexpected {n!r}" for n in sorted(extra)]
    if optimizer is not None:
        problems += _optimizer_updates(optimizer, model, tensors, transposed, optimizer_step, updates)
    if problems:
        raise ValueError(f"{what}: the file must hold exactly the model's tensors, got {'; '.join(problems)}")
    with torch.no_grad():
        for update in updates:
            if callable(update):
                update()
            else:
                update[0].copy_(update[1])
    for name, layer in layers.items():
        layer.step = int(mask_steps[name])
    return {"step": step, "optimizer_step": optimizer_step, "mask_steps": mask_steps, "metadata": metadata}


def save_checkpoint(model, optimizer, step, metadata=None):
    """The bytes of a library checkpoint of `model` and `optimizer` (SGD or
    Adam) after `step` training steps, which the library's restoreCheckpoint
    and DataParallel resume; `metadata` (e.g. a loaded checkpoint's) is kept,
    the library's own keys written anew."""
    transposed = _linear_weights(model)
    tensors = {}
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        tensors[name] = value.t() if name in transposed else value
    kind, momentum = _kind_of(optimizer)
    slots = SLOTS[kind] if kind == "adam" or momentum > 0 else ()
    keys = ("momentum_buffer",) if kind == "sgd" else ("exp_avg", "exp_avg_sq")
    # Adam counts its steps; the library's SGD counts them as the run does.
    optimizer_step = int(step)
    for name, p in model.named_parameters():
        state = optimizer.state.get(p, {})
        for slot, key in zip(slots, keys):
            value = state.get(key)
            value = torch.zeros_like(p) if value is None else value
            tensors[f"{OPTIMIZER_PREFIX}{name}.{slot}"] = value.t() if name in transposed else value
        if kind == "adam":
            optimizer_step = int(state["step"]) if "step" in state else 0
    kept = {k: v for k, v in (metadata or {}).items() if not k.startswith("jumpout.")}
    kept.update(
        {
            FORMAT_KEY: "1",
            "jumpout.step": str(int(step)),
            "jumpout.optimizerStep": str(optimizer_step),
            "jumpout.maskSteps": json.dumps({n: m.step for n, m in jumpout_layers(model)}, separators=(",", ":")),
        }
    )
    return write_safetensors(tensors, kept)


def _optimizer_updates(optimizer, model, tensors, transposed, optimizer_step, updates):
    """Appends the optimiser's new state to `updates`; returns the problems."""
    kind, momentum = _kind_of(optimizer)
    names = {f"{OPTIMIZER_PREFIX}{n}" for n, _ in model.named_parameters()}
    saved = {n.rsplit(".", 1)[1] for n in tensors if n.startswith(OPTIMIZER_PREFIX)}
    expected = set(SLOTS[kind]) if kind == "adam" or momentum > 0 else set()
    if saved and saved != expected:
        return [f"optimizer slots {sorted(saved)}, which {type(optimizer).__name__}(momentum={momentum}) does not keep"]
    problems = []
    for name, p in model.named_parameters():
        values = []
        for slot in sorted(expected):
            key = f"{OPTIMIZER_PREFIX}{name}.{slot}"
            value = tensors.get(key)
            if value is None:
                problems.append(f"missing {key!r}")
                continue
            value = value.t() if name in transposed and value.dim() == 2 else value
            if tuple(value.shape) != tuple(p.shape):
                problems.append(f"{key!r} has shape {list(value.shape)}, expected {list(p.shape)}")
                continue
            values.append((slot, value))
        if len(values) == len(expected) and expected:
            updates.append(lambda p=p, values=dict(values): _set_state(optimizer, kind, p, values, optimizer_step))
    for key in tensors:
        if key.startswith(OPTIMIZER_PREFIX) and key.rsplit(".", 1)[0] not in names:
            problems.append(f"unexpected {key!r}")
    return problems


def _set_state(optimizer, kind, p, values, optimizer_step):
    if kind == "sgd":
        optimizer.state[p] = {"momentum_buffer": values["velocity"].clone().to(p.device)}
    else:
        optimizer.state[p] = {
            "step": torch.tensor(float(optimizer_step)),
            "exp_avg": values["adam_m"].clone().to(p.device),
            "exp_avg_sq": values["adam_v"].clone().to(p.device),
        }


def _kind_of(optimizer):
    """("sgd", momentum) or ("adam", None); refuses other optimisers."""
    if isinstance(optimizer, torch.optim.SGD):
        group = optimizer.param_groups[0]
        if group.get("dampening", 0) != 0:
            raise ValueError(f"Cannot map the optimiser: SGD must have dampening 0 as the library's, got {group['dampening']}")
        return "sgd", group["momentum"]
    if isinstance(optimizer, torch.optim.Adam) and not isinstance(optimizer, torch.optim.AdamW):
        if optimizer.param_groups[0].get("amsgrad"):
            raise ValueError("Cannot map the optimiser: Adam must have amsgrad=False as the library's")
        return "adam", None
    raise ValueError(f"Cannot map the optimiser: it must be torch.optim.SGD or torch.optim.Adam, got {type(optimizer).__name__}")


def _linear_weights(model):
    """Names of the nn.Linear weights: the ones stored transposed."""
    return {f"{name}.weight" if name else "weight" for name, m in model.named_modules() if isinstance(m, nn.Linear)}
