"""jumpout_torch: the jumpout library's networks in PyTorch.

- `Jumpout` and `Dropout`: nn.Modules that draw the library's masks bit for
  bit for the same options, seed and step, on whole batches or on the shards
  of one (`Shard`, `shard_model` for DistributedDataParallel ranks);
- `Residual` and `GlobalAvgPool`: the library's layers PyTorch lacks;
- `read_safetensors`, `write_safetensors`, `load_state_dict_file`,
  `save_state_dict_file`: safetensors with torch alone;
- `load_checkpoint` and `save_checkpoint`: the library's training checkpoints
  (weights, optimiser state, each Jumpout's step) to and from a model built
  by the library's torch export and a torch.optim.SGD or Adam.

Pure Python over torch: put this package's parent folder on sys.path.
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .jumpout import Dropout, Jumpout, Shard, jumpout_layers, shard_model, shard_rows
from .modules import GlobalAvgPool, Residual
from .safetensors import load_state_dict_file, read_safetensors, save_state_dict_file, write_safetensors

__all__ = [
    "Dropout",
    "GlobalAvgPool",
    "Jumpout",
    "Residual",
    "Shard",
    "jumpout_layers",
    "load_checkpoint",
    "load_state_dict_file",
    "read_safetensors",
    "save_checkpoint",
    "save_state_dict_file",
    "shard_model",
    "shard_rows",
    "write_safetensors",
]
