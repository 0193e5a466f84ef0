"""Layer and model configs as JSON-able dicts, in Keras 3's layout (``class_name``/``config``, functional graphs as
``layers`` with ``inbound_nodes`` and ``keras_history``), and back."""
from kusari.layers.input_layer import InputLayer
from kusari.layers.symbolic import SymbolicTensor, map_structure
from kusari.saving import registry


def serialize(layer):
    from kusari.layers.op_layer import OpLayer, keras_class_name
    from kusari.models.functional import Functional
    from kusari.models.sequential import Sequential
    cls = type(layer)
    if cls is OpLayer:  # an op node: written the way Keras 3 writes its operations, so both can read it
        class_name, module = keras_class_name(layer.op_name)
        return {"module": module, "class_name": class_name, "config": {"name": layer.name},
                "registered_name": class_name}
    if isinstance(layer, Functional) and cls is Functional:
        config = _functional_config(layer)
    elif isinstance(layer, Sequential) and cls is Sequential:
        config = {"name": layer.name, "trainable": layer.trainable,
                  "layers": ([serialize(layer._input_layer)] if layer._input_layer else []) +
                  [serialize(l) for l in layer._stack]}
    else:
        config = layer.get_config()
    out = {"module": cls.__module__, "class_name": cls.__name__, "config": config,
           "registered_name": registry.get_registered_name(cls)}
    shape = getattr(layer, "_build_input_shape", None)
    if shape is not None and not isinstance(layer, InputLayer):
        out["build_config"] = {"input_shape": _jsonable_shape(shape)}
    return out


def _jsonable_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _tensor_ref(t):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(t.shape), "dtype": t.dtype,
                       "keras_history": [t.node.layer.name, t.node.index, t.index]}}


def _check_json(value, where):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_check_json(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _check_json(v, where) for k, v in value.items()}
    raise TypeError(f"cannot save {where}: argument {value!r} of type {type(value).__name__} is not JSON-serialisable")


def _functional_config(model):
    layer_entries = []
    for layer in model.layers:
        entry = serialize(layer)
        entry["name"] = layer.name
        nodes = []
        for node in layer._inbound_nodes:
            if isinstance(layer, InputLayer) or not any(node is n for n in model._nodes):
                continue
            args = map_structure(lambda t: _tensor_ref(t) if isinstance(t, SymbolicTensor) else t, node.args)
            kwargs = map_structure(lambda t: _tensor_ref(t) if isinstance(t, SymbolicTensor) else t, node.kwargs)
            nodes.append({"args": _check_json(args, layer.name), "kwargs": _check_json(kwargs, layer.name)})
        entry["inbound_nodes"] = nodes
        layer_entries.append(entry)

    def refs(struct):
        return map_structure(lambda t: [t.node.layer.name, t.node.index, t.index], struct)

    return {"name": model.name, "trainable": model.trainable, "layers": layer_entries,
            "input_layers": refs(model._inputs_struct), "output_layers": refs(model._outputs_struct)}


def deserialize(entry, custom_objects=None, safe_mode=True):
    """Rebuild a layer or model from ``serialize``'s dict (weights are loaded separately)."""
    if str(entry.get("module", "")).startswith("keras.src.ops"):
        from kusari.layers.op_layer import OpLayer, op_name_from_keras
        op_name = op_name_from_keras(entry["class_name"])
        if op_name is None:
            raise ValueError(f"unknown operation {entry['class_name']!r} ({entry['module']}): kusari.ops has no "
                             "matching function")
        return OpLayer(op_name, name=(entry.get("config") or {}).get("name"))
    cls = registry.lookup(entry["class_name"], entry.get("registered_name"), custom_objects)
    config = entry.get("config", {})
    from kusari.layers.core import Lambda
    from kusari.models.functional import Functional
    from kusari.models.sequential import Sequential
    if issubclass(cls, Lambda):
        return _lambda(config, custom_objects, safe_mode)
    if cls is Functional or (cls.__name__ == "Functional" and "layers" in config):
        return _functional_from_config(config, custom_objects, safe_mode)
    if cls is Sequential:
        model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_entry in config.get("layers", []):
            model.add(deserialize(layer_entry, custom_objects, safe_mode))
        _build(model, entry)
        return model
    try:
        obj = cls.from_config(dict(config))
    except TypeError as e:
        raise TypeError(f"could not rebuild {entry['class_name']} from its config ({e}); does the class define "
                        "get_config() returning its constructor arguments?") from e
    _build(obj, entry)
    return obj


def _build(obj, entry):
    shape = (entry.get("build_config") or {}).get("input_shape")
    if shape is None or obj.built and obj.weights:
        return
    from kusari import ops
    from kusari.autograd.mode import no_grad
    from kusari.layers.layer import Layer
    if not isinstance(obj, Layer):
        return
    nested = shape and isinstance(shape[0], list)

    def zeros(s):
        return ops.zeros(tuple(1 if d is None else d for d in s))
    with no_grad():
        obj([zeros(s) for s in shape] if nested else zeros(shape), training=False) \
            if "training" in obj._call_params()[0] else obj([zeros(s) for s in shape] if nested else zeros(shape))


def _lambda(config, custom_objects, safe_mode):
    from kusari.layers.core import Lambda
    name = config.get("function")
    if safe_mode:
        raise ValueError(f"the model contains a Lambda layer ({config.get('name')!r}, function {name!r}); kusari "
                         "never stores code, so loading it needs safe_mode=False and the function passed in "
                         f"custom_objects={{{name!r}: fn}}")
    fn = (custom_objects or {}).get(name)
    if fn is None:
        raise ValueError(f"Lambda layer {config.get('name')!r} needs its function: pass custom_objects="
                         f"{{{name!r}: fn}}")
    cfg = {k: v for k, v in config.items() if k != "function"}
    return Lambda(fn, **cfg)


def _functional_from_config(config, custom_objects, safe_mode):
    from kusari.models.functional import Functional
    created = {}
    pending = []
    for entry in config["layers"]:
        layer = deserialize(entry, custom_objects, safe_mode)
        created[entry.get("name", layer.name)] = layer
        for node in entry.get("inbound_nodes", []):
            pending.append((layer, node))
    outputs = {}   # (layer_name, node_index) -> list of symbolic outputs

    def produced(name, idx):
        layer = created[name]
        if isinstance(layer, InputLayer) and idx == 0:
            return layer._inbound_nodes[0].outputs
        return outputs.get((name, idx))

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, idx, t = value["config"]["keras_history"]
            outs = produced(name, idx)
            if outs is None:
                raise LookupError
            return outs[t]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    progress = True
    while pending and progress:
        progress = False
        for item in list(pending):
            layer, node = item
            try:
                args = resolve(node.get("args", []))
                kwargs = resolve(node.get("kwargs", {}))
            except LookupError:
                continue
            from kusari.layers.symbolic import flatten
            out = layer(*args, **kwargs)
            idx = len([k for k in outputs if k[0] == layer.name])
            outputs[(layer.name, idx)] = flatten(out)
            pending.remove(item)
            progress = True
    if pending:
        raise ValueError(f"cannot rebuild the functional graph: layers {[l.name for l, _ in pending]} depend on "
                         "outputs that are never produced")

    def ref(r):
        if isinstance(r, list) and len(r) == 3 and isinstance(r[0], str):
            return produced(r[0], r[1])[r[2]]
        return [ref(x) for x in r]
    return Functional(ref(config["input_layers"]), ref(config["output_layers"]), name=config.get("name"),
                      trainable=config.get("trainable", True))
