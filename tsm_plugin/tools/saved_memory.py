"""How much activation memory a model keeps for backward: the figure the
lean shift is about, counted exactly (used by the tests and the benchmark)."""
import torch


def is_parameter_cast(t, param_storages):
    """``t`` is a dtype cast of a parameter (autocast casts each weight once
    and its conv keeps the cast): weights, not activations."""
    fn = t.grad_fn
    if fn is None or type(fn).__name__ != 'ToCopyBackward0':
        return False
    source = fn.next_functions[0][0]
    variable = getattr(source, 'variable', None)  # AccumulateGrad's leaf
    return variable is not None and \
        variable.untyped_storage().data_ptr() in param_storages


def saved_activation_bytes(model, x):
    """Bytes of the unique storages autograd saves during one training forward
    of ``model`` on ``x`` (``saved_tensors_hooks``), parameters skipped and,
    under autocast, their low-precision casts too (the same weights' bytes
    whatever the model does with its activations; bfloat16 ResNet-50: 45 MiB
    a forward). Compiled, those casts are graph intermediates: counted."""
    model.train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params and \
                not is_parameter_cast(t, params):
            storages[storage.data_ptr()] = storage.nbytes()
        # Not t itself: a saved output would hold its own grad_fn, a cycle
        # through C++ that keeps the whole graph alive after the forward.
        return t.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(storages.values())
