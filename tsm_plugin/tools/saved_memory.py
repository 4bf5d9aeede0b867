"""How much activation memory a model keeps for backward: the figure the
lean shift is about, counted exactly (used by the tests and the benchmark)."""
import torch


def saved_activation_bytes(model, x):
    """Bytes of the unique storages autograd saves during one training forward
    of ``model`` on ``x`` (``saved_tensors_hooks``), parameters skipped."""
    model.train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            storages[storage.data_ptr()] = storage.nbytes()
        # Not t itself: a saved output would hold its own grad_fn, a cycle
        # through C++ that keeps the whole graph alive after the forward.
        return t.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(storages.values())
