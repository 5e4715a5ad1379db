/**
 * PyTorch interchange: a built model's weights as a PyTorch `state_dict`
 * (safetensors) with the Python source of the same network, and such a
 * `state_dict` read back into a model.
 *
 * @module
 */

export * from "./export_torch.ts";
export * from "./import_torch.ts";
