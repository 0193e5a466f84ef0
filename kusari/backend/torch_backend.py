"""The PyTorch backend: arrays are ``torch.Tensor`` (``requires_grad`` off — kusari's own tape does autograd) on
one device (``"cpu"``, or ``"cuda"`` when present); conv/pool use torch's kernels.

``xp`` is a small hand-written array-API namespace over torch (``_TorchNamespace``): most names are torch's own
functions bound directly (no per-call overhead); the few whose array-API signature differs from torch's
(``axis``/``keepdims``, tuples of axes, numpy-style ``take``/``nonzero``) are thin wrappers.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from kusari.backend.base import Backend, foreign_rng_seed

_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64,
    "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "uint8": torch.uint8, "bool": torch.bool,
}
for _name in ("uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2"):
    if hasattr(torch, _name):
        _DTYPES[_name] = getattr(torch, _name)
_NAMES = {dt: name for name, dt in _DTYPES.items()}
# NumPy dtypes torch.from_numpy cannot take: go through float32 (ml_dtypes' bfloat16/float8)
_VIA_FLOAT32 = ("bfloat16", "float8_e4m3fn", "float8_e5m2")
# asarray's direct path for Python numbers: NumPy's default dtypes, and the dtypes (with their ranges) it serves
_PY_DTYPES = {float: torch.float64, int: torch.int64, bool: torch.bool}
_SCALAR_RANGES = {dt: (-torch.finfo(dt).max, torch.finfo(dt).max)
                  for dt in (torch.float16, torch.bfloat16, torch.float32, torch.float64)}
_SCALAR_RANGES.update({dt: (torch.iinfo(dt).min, torch.iinfo(dt).max)
                       for dt in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)})


def _axes(axis, ndim):
    """``axis`` (None, int or tuple) as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else 0 for a in axis)


def _reducer(fn, int_dim_only=False):
    """A numpy/array-API style reduction ``f(x, axis=None, keepdims=False)`` from a torch one (``dim``/``keepdim``).

    torch reads ``dim=()`` as "all dims"; the array API reads it as "none", so ``axis=()`` returns x unreduced.
    """
    def reduce(x, axis=None, keepdims=False, **kw):
        if axis is None:
            if not keepdims and not int_dim_only:
                return fn(x, **kw)
            axis = tuple(range(x.ndim))
        elif isinstance(axis, int):
            return fn(x, dim=axis, keepdim=keepdims, **kw)
        axis = tuple(axis)
        if not axis:
            return fn(x.unsqueeze(0), dim=0, keepdim=False, **kw)
        if x.ndim == 0:
            return fn(x, **kw)
        if int_dim_only:
            for a in sorted((a % x.ndim for a in axis), reverse=True):
                x = fn(x, dim=a, keepdim=keepdims, **kw)
            return x
        return fn(x, dim=axis, keepdim=keepdims, **kw)
    reduce.__name__ = getattr(fn, "__name__", "reduce")
    return reduce


def _arg_reducer(fn):
    def reduce(x, axis=None, keepdims=False):
        if axis is None:
            y = fn(x.reshape(-1), dim=0)
            return y.reshape((1,) * x.ndim) if keepdims else y
        return fn(x, dim=axis, keepdim=keepdims)
    return reduce


def _binary_tensor(fn):
    """torch.maximum & co. need two tensors; the array API also takes a Python scalar on either side."""
    def op(a, b):
        if not isinstance(a, torch.Tensor):
            a = torch.as_tensor(a, dtype=b.dtype, device=b.device)
        elif not isinstance(b, torch.Tensor):
            b = torch.as_tensor(b, dtype=a.dtype, device=a.device)
        return fn(a, b)
    return op


class _TorchNamespace:
    """Array-API names over torch for one backend (creation functions land on its device)."""

    def __init__(self, backend):
        self._b = backend
        self.linalg = torch.linalg
        self.finfo = torch.finfo
        self.iinfo = torch.iinfo
        for name in ("abs", "sqrt", "exp", "log", "log1p", "expm1", "log2", "log10", "sign", "square",
                     "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh",
                     "floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "logical_and", "logical_or",
                     "logical_xor", "logical_not", "reshape", "broadcast_to", "floor_divide", "remainder",
                     "matmul", "tensordot", "outer", "clip", "atan2", "hypot", "copysign", "reciprocal",
                     "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "where", "sort", "argsort",
                     "meshgrid", "tril", "triu", "diagonal", "conj", "real", "imag", "trace", "searchsorted",
                     "sigmoid", "nan_to_num", "signbit"):
            setattr(self, name, getattr(torch, name))
        self.arcsin, self.arccos, self.arctan = torch.asin, torch.acos, torch.atan
        self.arcsinh, self.arccosh, self.arctanh = torch.asinh, torch.acosh, torch.atanh
        self.absolute, self.negative, self.positive = torch.abs, torch.neg, torch.positive
        self.equal, self.not_equal = torch.eq, torch.ne
        self.less, self.less_equal, self.greater, self.greater_equal = torch.lt, torch.le, torch.gt, torch.ge
        self.add, self.subtract, self.multiply, self.divide = torch.add, torch.sub, torch.mul, torch.div
        self.pow, self.power = torch.pow, torch.pow
        self.where = _where
        self.maximum = _binary_tensor(torch.maximum)
        self.minimum = _binary_tensor(torch.minimum)
        self.sum = _reducer(torch.sum)
        self.mean = _reducer(torch.mean)
        self.max = _reducer(torch.amax)
        self.min = _reducer(torch.amin)
        self.prod = _reducer(torch.prod, int_dim_only=True)
        self.any = _reducer(torch.any)
        self.all = _reducer(torch.all)
        self.argmax = _arg_reducer(torch.argmax)
        self.argmin = _arg_reducer(torch.argmin)
        self.permute_dims = torch.permute
        self.stack = lambda arrays, axis=0: torch.stack(list(arrays), dim=axis)

    # -- creation (on this backend's device) --
    def asarray(self, obj, dtype=None, copy=None, device=None):
        if isinstance(obj, torch.Tensor):
            if isinstance(dtype, str):
                dtype = _DTYPES[dtype]
            out = obj if dtype is None else obj.to(dtype)
            if copy and out is obj:
                out = obj.clone()
            return out
        return self._b.asarray(obj, dtype)

    def zeros(self, shape, dtype=None, device=None):
        return torch.zeros(_shape(shape), dtype=self._b._dt(dtype, torch.float32), device=self._b.device)

    def ones(self, shape, dtype=None, device=None):
        return torch.ones(_shape(shape), dtype=self._b._dt(dtype, torch.float32), device=self._b.device)

    def full(self, shape, fill_value, dtype=None, device=None):
        return torch.full(_shape(shape), fill_value, dtype=self._b._dt(dtype, None), device=self._b.device)

    def empty(self, shape, dtype=None, device=None):
        return torch.empty(_shape(shape), dtype=self._b._dt(dtype, torch.float32), device=self._b.device)

    def zeros_like(self, x, dtype=None, device=None):
        return torch.zeros_like(x, dtype=self._b._dt(dtype, None))

    def ones_like(self, x, dtype=None, device=None):
        return torch.ones_like(x, dtype=self._b._dt(dtype, None))

    def full_like(self, x, fill_value, dtype=None, device=None):
        return torch.full_like(x, fill_value, dtype=self._b._dt(dtype, None))

    def empty_like(self, x, dtype=None, device=None):
        return torch.empty_like(x, dtype=self._b._dt(dtype, None))

    def eye(self, n_rows, n_cols=None, k=0, dtype=None, device=None):
        n_cols = n_rows if n_cols is None else n_cols
        dt = self._b._dt(dtype, torch.float64)  # numpy's default, so xp.eye(n) * gain matches the numpy backend
        if k == 0:
            return torch.eye(n_rows, n_cols, dtype=dt, device=self._b.device)
        return torch.ones(n_rows, n_cols, dtype=dt, device=self._b.device).tril(k).triu(k)

    def arange(self, start, stop=None, step=1, dtype=None, device=None):
        if stop is None:
            start, stop = 0, start
        return torch.arange(start, stop, step, dtype=self._b._dt(dtype, None), device=self._b.device)

    def linspace(self, start, stop, num, dtype=None, device=None, endpoint=True):
        return torch.linspace(start, stop, num, dtype=self._b._dt(dtype, torch.float32), device=self._b.device)

    # -- shape and indexing --
    @staticmethod
    def astype(x, dtype, copy=True):
        return x.to(_DTYPES[dtype] if isinstance(dtype, str) else dtype)

    @staticmethod
    def concat(arrays, axis=0):
        arrays = list(arrays)
        if axis is None:
            return torch.cat([a.reshape(-1) for a in arrays])
        return torch.cat(arrays, dim=axis)

    @staticmethod
    def expand_dims(x, axis=0):
        if isinstance(axis, int):
            return torch.unsqueeze(x, axis)
        n = x.ndim + len(axis)
        for a in sorted(a % n for a in axis):
            x = torch.unsqueeze(x, a)
        return x

    @staticmethod
    def squeeze(x, axis=None):
        if axis is None:
            return torch.squeeze(x)
        return torch.squeeze(x, dim=axis)

    @staticmethod
    def flip(x, axis=None):
        return torch.flip(x, dims=_axes(axis, x.ndim))

    @staticmethod
    def roll(x, shift, axis=None):
        if axis is None:
            return torch.roll(x.reshape(-1), shift).reshape(x.shape)
        return torch.roll(x, shift, dims=axis)

    @staticmethod
    def moveaxis(x, source, destination):
        return torch.movedim(x, source, destination)

    @staticmethod
    def take(x, indices, axis=None):
        if axis is None:
            x, axis = x.reshape(-1), 0
        axis = axis % x.ndim
        if not isinstance(indices, torch.Tensor):
            indices = torch.as_tensor(np.asarray(indices), device=x.device)
        n = x.shape[axis]
        flat = indices.reshape(-1).to(torch.int64)
        flat = torch.where(flat < 0, flat + n, flat)
        y = torch.index_select(x, axis, flat)
        return y.reshape(tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1:]))

    @staticmethod
    def take_along_axis(x, indices, axis=-1):
        return torch.take_along_dim(x, indices.to(torch.int64), dim=axis)

    @staticmethod
    def nonzero(x):
        return torch.nonzero(x, as_tuple=True)

    @staticmethod
    def repeat(x, repeats, axis=None):
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.repeat_interleave(x, repeats, dim=axis)

    @staticmethod
    def tile(x, reps):
        return torch.tile(x, tuple(reps))

    @staticmethod
    def cumulative_sum(x, axis=None, dtype=None, include_initial=False):
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.cumsum(x, dim=axis)

    @staticmethod
    def cumulative_prod(x, axis=None, dtype=None, include_initial=False):
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.cumprod(x, dim=axis)

    @staticmethod
    def round(x, decimals=0):
        return torch.round(x, decimals=decimals)

    @staticmethod
    def var(x, axis=None, keepdims=False, correction=0):
        return torch.var(x, dim=axis, keepdim=keepdims, correction=correction)

    @staticmethod
    def std(x, axis=None, keepdims=False, correction=0):
        return torch.std(x, dim=axis, keepdim=keepdims, correction=correction)

    @staticmethod
    def shape(x):
        return tuple(x.shape)

    @staticmethod
    def isdtype(dtype, kind):
        if kind == "real floating":
            return dtype.is_floating_point
        if kind == "bool":
            return dtype == torch.bool
        if kind == "integral":
            return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool
        raise NotImplementedError(kind)


def _where(condition, x1, x2):
    """torch.where; two Python-number branches become float64/int64 like NumPy (torch would use float32)."""
    if not isinstance(x1, torch.Tensor) and not isinstance(x2, torch.Tensor):
        dt = torch.float64 if isinstance(x1, float) or isinstance(x2, float) else torch.int64
        x1 = torch.as_tensor(x1, dtype=dt, device=condition.device)
    return torch.where(condition, x1, x2)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _via_float32(dt):
    """The name of a NumPy dtype torch.from_numpy cannot take (ml_dtypes' bfloat16/float8: kind 'V'), or None."""
    if dt.kind != "V":
        return None
    return dt.name if dt.name in _VIA_FLOAT32 else None


def _numpy_for_torch(a, via):
    """A NumPy array torch.from_numpy accepts: native byte order, non-negative strides, writeable. ``via``:
    ``_via_float32(a.dtype)``."""
    if via:
        a = a.astype(np.float32)
    if not a.flags.writeable or any(s < 0 for s in a.strides) or not a.dtype.isnative:
        a = np.array(a, dtype=a.dtype.newbyteorder("=") if not a.dtype.isnative else a.dtype)
    return a


class TorchBackend(Backend):
    name = "torch"
    array_types = (torch.Tensor,)

    def __init__(self, device=None):
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"torch backend: device {device!r} asked for, but torch sees no CUDA GPU")
        self.torch_device = dev
        self._on_cpu = dev.type == "cpu"
        self.device = str(dev)
        self.xp = _TorchNamespace(self)

    def owns(self, a):
        return isinstance(a, torch.Tensor) and a.device == self.torch_device

    def get_num_threads(self):
        return torch.get_num_threads()

    def set_num_threads(self, n):
        torch.set_num_threads(int(n))

    def _dt(self, dtype, default):
        if dtype is None:
            return default
        return _DTYPES[dtype] if isinstance(dtype, str) else _torch_dtype(dtype)

    # -- creation and conversion --
    def asarray(self, data, dtype=None):
        dt = None if dtype is None else (_DTYPES[dtype] if isinstance(dtype, str) else _torch_dtype(dtype))
        if isinstance(data, torch.Tensor):
            return data.to(device=self.torch_device, dtype=dt if dt is not None else data.dtype)
        kind = type(data)
        if kind is float or kind is bool or kind is int:
            # a Python number made 0-d without a NumPy round trip (NumPy's default dtypes), where it lies in the
            # dtype's range; the rest (overflow, NaN, floats into ints) takes the NumPy path below, with its rules
            if dt is None:
                dt = _PY_DTYPES[kind]
            rng = _SCALAR_RANGES.get(dt)
            if (kind is bool and dt is torch.bool) or (rng is not None and rng[0] <= data <= rng[1]
                                                       and (kind is not float or dt.is_floating_point)):
                return torch.scalar_tensor(data, dtype=dt, device=self.torch_device)
        if not isinstance(data, np.ndarray):
            data = np.asarray(data)      # NumPy's rules for Python data (floats -> float64, ints -> int64)
        via = _via_float32(data.dtype)
        t = torch.from_numpy(_numpy_for_torch(data, via))
        if dt is None:
            dt = _DTYPES[via] if via else t.dtype
        if dt == t.dtype and self._on_cpu:
            return t
        return t.to(device=self.torch_device, dtype=dt)

    def to_numpy(self, a):
        if not isinstance(a, torch.Tensor):
            return np.asarray(a)
        if a.requires_grad:
            a = a.detach()
        if a.device.type != "cpu":
            a = a.cpu()
        name = _NAMES.get(a.dtype)
        if name in _VIA_FLOAT32:
            import ml_dtypes
            return a.float().numpy().astype(getattr(ml_dtypes, name))
        if a.is_conj():
            a = a.resolve_conj()
        return a.numpy()

    def dtype(self, name):
        return _DTYPES[name]

    def dtype_name(self, native):
        return _NAMES[native]

    def zeros(self, shape, dtype):
        return torch.zeros(_shape(shape), dtype=_DTYPES[dtype], device=self.torch_device)

    def ones(self, shape, dtype):
        return torch.ones(_shape(shape), dtype=_DTYPES[dtype], device=self.torch_device)

    def full(self, shape, value, dtype):
        return torch.full(_shape(shape), value, dtype=_DTYPES[dtype], device=self.torch_device)

    def arange(self, start, stop, step, dtype):
        return torch.arange(start, stop, step, dtype=_DTYPES[dtype], device=self.torch_device)

    def cast(self, a, dtype_name):
        if not isinstance(a, torch.Tensor):
            return self.asarray(a, dtype_name)
        return a.to(_DTYPES[dtype_name])

    # -- state --
    def assign(self, dst, src):
        if not isinstance(src, torch.Tensor):
            src = self.asarray(src)
        dst.copy_(src)
        return dst

    def getitem(self, x, index):
        index = _index(index)
        if _has_negative_step(index):
            x, index = _flip_negative_steps(x, index)
        return x[index]

    def setitem(self, dst, index, src):
        if not isinstance(src, (torch.Tensor, int, float, bool)):
            src = self.asarray(src, dst.dtype)
        index = _index(index)
        if _has_negative_step(index):
            # torch slices only step forward: write through the flat positions the index selects
            pos = self.getitem(torch.arange(dst.numel(), device=dst.device).reshape(dst.shape), index)
            flat = dst.view(-1) if dst.is_contiguous() else None
            if flat is None:
                raise NotImplementedError("torch backend: negative-step assignment into a non-contiguous array")
            flat[pos.reshape(-1)] = torch.broadcast_to(torch.as_tensor(src, dtype=dst.dtype, device=dst.device),
                                                      pos.shape).reshape(-1)
            return dst
        dst[index] = src
        return dst

    # -- kernels --
    def erf(self, x):
        return torch.special.erf(x)

    def pad(self, x, pairs, mode="constant", constant_values=0):
        pairs = [tuple(int(v) for v in p) for p in pairs]
        if mode == "constant":
            flat = []
            for lo, hi in reversed(pairs):
                flat += [lo, hi]
            return F.pad(x, flat, mode="constant", value=constant_values)
        # reflect / symmetric / edge / wrap: gather along each axis with NumPy's index rules
        for axis, (lo, hi) in enumerate(pairs):
            if lo == 0 and hi == 0:
                continue
            n = x.shape[axis]
            idx = np.pad(np.arange(n), (lo, hi), mode=mode)
            x = torch.index_select(x, axis, torch.as_tensor(idx, device=x.device))
        return x

    def einsum(self, subscripts, *operands):
        return torch.einsum(subscripts, *operands)

    def take_along_axis(self, x, indices, axis):
        return torch.take_along_dim(x, indices.to(torch.int64), dim=axis)

    def scatter_add(self, shape, axis, indices, values):
        shape = tuple(shape)
        axis = axis % len(shape)
        indices = indices.reshape(-1).to(torch.int64)
        n = shape[axis]
        indices = torch.where(indices < 0, indices + n, indices)
        values = values.reshape(shape[:axis] + (indices.numel(),) + shape[axis + 1:])
        out = torch.zeros(shape, dtype=values.dtype, device=values.device)
        return out.index_add_(axis, indices, values)

    def index_add(self, shape, index, values):
        # positions of the indexed elements in the flattened output, then one flat index_add_
        shape = tuple(shape)
        n = math.prod(shape)
        pos = self.getitem(torch.arange(n, device=values.device).reshape(shape), index)
        out = torch.zeros(n, dtype=values.dtype, device=values.device)
        vals = torch.broadcast_to(values, pos.shape).reshape(-1)
        return out.index_add_(0, pos.reshape(-1), vals).reshape(shape)

    # -- random --
    def rng(self, seed):
        gen = torch.Generator(device=self.torch_device)
        gen.manual_seed(int(seed) % (2 ** 63))
        return gen

    def rng_state(self, gen):
        import base64
        return {"torch_state": base64.b64encode(gen.get_state().numpy().tobytes()).decode("ascii")}

    def set_rng_state(self, gen, state):
        import base64
        if "torch_state" not in state:        # written by another backend
            gen.manual_seed(foreign_rng_seed(state))
            return
        raw = np.frombuffer(base64.b64decode(state["torch_state"]), dtype=np.uint8).copy()
        gen.set_state(torch.from_numpy(raw))

    def _float_gen_dtype(self, dtype):
        dt = _DTYPES[dtype]
        return dt, (dt if dt in (torch.float32, torch.float64) else torch.float32)

    def normal(self, gen, shape, dtype, mean=0.0, stddev=1.0):
        dt, work = self._float_gen_dtype(dtype)
        out = torch.randn(_shape(shape), generator=gen, dtype=work, device=self.torch_device)
        if stddev != 1.0:
            out.mul_(stddev)
        if mean != 0.0:
            out.add_(mean)
        return out.to(dt)

    def uniform(self, gen, shape, dtype, minval=0.0, maxval=1.0):
        dt, work = self._float_gen_dtype(dtype)
        out = torch.rand(_shape(shape), generator=gen, dtype=work, device=self.torch_device)
        if (minval, maxval) != (0.0, 1.0):
            out.mul_(maxval - minval)
            out.add_(minval)
        return out.to(dt)

    def randint(self, gen, shape, minval, maxval, dtype):
        return torch.randint(int(minval), int(maxval), _shape(shape), generator=gen, dtype=_DTYPES[dtype],
                             device=self.torch_device)

    def permutation(self, gen, n):
        return torch.randperm(int(n), generator=gen, device=self.torch_device)

    # -- convolution and pooling: channels-last in, torch's channels-first kernels inside --
    def conv(self, x, w, strides, padding, dilation, groups):
        nd = x.ndim - 2
        xc = _cf(x)
        wc = w.permute(nd + 1, nd, *range(nd))          # (*k, Cin/g, Cout) -> (Cout, Cin/g, *k)
        pad = _conv_padding(padding)
        if pad is None:
            xc, pad = F.pad(xc, _torch_pairs(padding)), 0
        y = _CONV[nd](xc, wc, None, tuple(strides), pad, tuple(dilation), groups)
        return _cl(y)

    def conv_backward_input(self, gy, w, x_shape, strides, padding, dilation, groups):
        nd = len(x_shape) - 2
        wc = w.permute(nd + 1, nd, *range(nd))
        padded = [n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], padding)]
        in_size = (x_shape[0], x_shape[-1], *padded)
        g = torch.ops.aten.convolution_backward(
            _cf(gy), torch.zeros((), dtype=gy.dtype, device=gy.device).expand(in_size), wc, None,
            list(strides), [0] * nd, list(dilation), False, [0] * nd, groups, [True, False, False])[0]
        return _cl(F.pad(g, [-v for v in _torch_pairs(padding)]))

    def conv_backward_filter(self, x, gy, w_shape, strides, padding, dilation, groups):
        nd = x.ndim - 2
        w_size = (w_shape[-1], w_shape[-2], *w_shape[:-2])
        xc = F.pad(_cf(x), _torch_pairs(padding))
        gw = torch.ops.aten.convolution_backward(
            _cf(gy), xc, torch.zeros((), dtype=x.dtype, device=x.device).expand(w_size), None,
            list(strides), [0] * nd, list(dilation), False, [0] * nd, groups, [False, True, False])[1]
        return gw.permute(*range(2, nd + 2), 1, 0).contiguous()

    def max_pool(self, x, pool, strides, padding):
        nd = x.ndim - 2
        xc = _cf(x)
        if any(lo or hi for lo, hi in padding):
            low = torch.finfo(x.dtype).min if x.dtype.is_floating_point else torch.iinfo(x.dtype).min
            xc = F.pad(xc, _torch_pairs(padding), value=float("-inf") if x.dtype.is_floating_point else low)
        y, idx = _MAXPOOL[nd](xc, tuple(pool), tuple(strides), return_indices=True)
        return _cl(y), (idx, tuple(xc.shape))

    def max_pool_backward(self, gy, argmax, x_shape, pool, strides, padding):
        idx, padded = argmax
        g = _cf(gy)
        n, c = padded[:2]
        out = torch.zeros((n, c, math.prod(padded[2:])), dtype=gy.dtype, device=gy.device)
        out.scatter_add_(2, idx.reshape(n, c, -1), g.reshape(n, c, -1))
        out = F.pad(out.reshape(padded), [-v for v in _torch_pairs(padding)])
        return _cl(out)

    def max_pool_grad_gather(self, ggx, argmax, pool, strides, padding):
        idx, padded = argmax
        g = F.pad(_cf(ggx), _torch_pairs(padding))
        n, c = padded[:2]
        picked = torch.gather(g.reshape(n, c, -1), 2, idx.reshape(n, c, -1)).reshape(idx.shape)
        return _cl(picked)

    def _pool_counts(self, shape_cf, pool, strides, padding, dtype, device):
        ones = torch.ones((1, 1, *shape_cf[2:]), dtype=dtype, device=device)
        ones = F.pad(ones, _torch_pairs(padding))
        return _AVGPOOL[len(pool)](ones, tuple(pool), tuple(strides)) * math.prod(pool)

    def avg_pool(self, x, pool, strides, padding):
        nd = x.ndim - 2
        xc = _cf(x)
        if any(lo or hi for lo, hi in padding):
            sums = _AVGPOOL[nd](F.pad(xc, _torch_pairs(padding)), tuple(pool), tuple(strides)) * math.prod(pool)
            return _cl(sums / self._pool_counts(xc.shape, pool, strides, padding, x.dtype, x.device))
        return _cl(_AVGPOOL[nd](xc, tuple(pool), tuple(strides)))

    def avg_pool_backward(self, gy, x_shape, pool, strides, padding):
        nd = len(x_shape) - 2
        n, c = x_shape[0], x_shape[-1]
        g = _cf(gy)
        shape_cf = (n, c, *x_shape[1:-1])
        if any(lo or hi for lo, hi in padding):
            g = g / self._pool_counts(shape_cf, pool, strides, padding, gy.dtype, gy.device)
        else:
            g = g / math.prod(pool)
        padded = [s + lo + hi for s, (lo, hi) in zip(x_shape[1:-1], padding)]
        out_sp = g.shape[2:]
        ones = torch.ones((1, 1, *pool), dtype=gy.dtype, device=gy.device)
        gx = _CONVT[nd](g.reshape(n * c, 1, *out_sp), ones, None, tuple(strides))
        extra = []
        for have, want in reversed(list(zip(gx.shape[2:], padded))):
            extra += [0, want - have]
        gx = F.pad(gx, extra).reshape(n, c, *padded)
        return _cl(F.pad(gx, [-v for v in _torch_pairs(padding)]))

    # -- optimizer kernels: in place, with one temporary (Adam's denominator); fresh temporaries (allocation and
    # first-touch page faults) cost more than the arithmetic on CPU: Adam over the MLP's 0.67M weights took ~3.1 ms
    # with four per tensor, ~0.8 ms now. The per-tensor and the multi-tensor (``_foreach_*``) kernels run the same
    # operations in the same order, so they give the same numbers.
    def sgd_update(self, param, grad, momentum_buf, lr, momentum, nesterov):
        if momentum_buf is None:
            param.add_(grad, alpha=-lr)
            return param, None
        m = momentum_buf
        m.mul_(momentum).add_(grad, alpha=-lr)
        if nesterov:
            param.add_(m, alpha=momentum).add_(grad, alpha=-lr)
        else:
            param.add_(m)
        return param, m

    def sgd_update_many(self, params, grads, momentum_bufs, lr, momentum, nesterov):
        if momentum_bufs is None:
            torch._foreach_add_(params, grads, alpha=-lr)
            return params, None
        torch._foreach_mul_(momentum_bufs, momentum)
        torch._foreach_add_(momentum_bufs, grads, alpha=-lr)
        if nesterov:
            torch._foreach_add_(params, momentum_bufs, alpha=momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, momentum_bufs)
        return params, momentum_bufs

    def adam_update(self, param, grad, m, v, v_hat, alpha, beta_1, beta_2, epsilon):
        m.lerp_(grad, 1 - beta_1)                           # m + (g - m)(1 - beta_1)
        v.mul_(beta_2).addcmul_(grad, grad, value=1 - beta_2)
        vv = v
        if v_hat is not None:
            torch.maximum(v_hat, v, out=v_hat)
            vv = v_hat
        param.addcdiv_(m, torch.sqrt(vv).add_(epsilon), value=-alpha)
        return param, m, v, v_hat

    def adam_update_many(self, params, grads, ms, vs, v_hats, alpha, beta_1, beta_2, epsilon):
        torch._foreach_lerp_(ms, grads, 1 - beta_1)
        torch._foreach_mul_(vs, beta_2)
        torch._foreach_addcmul_(vs, grads, grads, 1 - beta_2)
        vv = vs
        if v_hats is not None:
            torch._foreach_maximum_(v_hats, vs)
            vv = v_hats
        denom = torch._foreach_sqrt(vv)
        torch._foreach_add_(denom, epsilon)
        torch._foreach_addcdiv_(params, ms, denom, -alpha)
        return params, ms, vs, v_hats

    def relu_(self, a):
        return torch.relu_(a)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _cf(x):
    """channels-last (N, *sp, C) -> channels-first (N, C, *sp) (a view)."""
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def _cl(x):
    """channels-first -> channels-last, contiguous."""
    return x.permute(0, *range(2, x.ndim), 1).contiguous()


def _torch_pairs(pairs):
    """kusari's per-dim (lo, hi) pairs -> F.pad's flat list, last dim first."""
    flat = []
    for lo, hi in reversed(list(pairs)):
        flat += [int(lo), int(hi)]
    return flat


def _conv_padding(pairs):
    """The symmetric non-negative padding torch's conv takes directly, or None (pad explicitly first)."""
    if all(lo == hi and lo >= 0 for lo, hi in pairs):
        return tuple(int(lo) for lo, _ in pairs)
    return None


def _torch_dtype(dt):
    if isinstance(dt, torch.dtype):
        return dt
    return _DTYPES[np.dtype(dt).name]


def _has_negative_step(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in parts)


def _flip_negative_steps(x, index):
    """``(x', index')`` with ``x'[index'] == x[index]`` (NumPy's meaning) and no negative slice steps: each such
    dim is flipped and its slice rewritten in flipped coordinates."""
    parts = list(index) if isinstance(index, tuple) else [index]
    consuming = sum(1 for i in parts if i is not None and i is not Ellipsis)
    dim, flips = 0, []
    for k, i in enumerate(parts):
        if i is None:
            continue
        if i is Ellipsis:
            dim += x.ndim - consuming
            continue
        if isinstance(i, slice) and i.step is not None and i.step < 0:
            n = x.shape[dim]
            r = range(n)[i]
            if len(r) == 0:
                parts[k] = slice(0, 0, 1)
            else:
                parts[k] = slice(n - 1 - r[0], n - r[-1], -i.step)
            flips.append(dim)
        dim += 1
    return torch.flip(x, dims=flips), tuple(parts)


def _index(index):
    """An index with NumPy's meaning in torch's terms: NumPy arrays -> torch tensors; and where an array index
    is present, Python ints become one-element index arrays (NumPy counts such ints as advanced indices, which
    decides where the indexed dims go; torch would apply them first as a plain select)."""
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    if isinstance(index, tuple):
        index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
        if any(isinstance(i, torch.Tensor) and i.ndim for i in index) and \
                any(isinstance(i, int) and not isinstance(i, bool) for i in index):
            index = tuple(torch.tensor([i]) if isinstance(i, int) and not isinstance(i, bool) else i
                          for i in index)
    return index
