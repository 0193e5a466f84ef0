"""Read ``.npy`` object arrays of int lists (as in Keras' ``imdb.npz``) without ``pickle``.

``np.save`` stores an object array as a pickle, and ``np.load(allow_pickle=True)``
would run whatever that pickle asks for.  This module instead interprets the
small subset of pickle opcodes that such a file uses (protocols 2-5) and builds
only what it recognises: ints, floats, strings, bytes, None/True/False, lists,
tuples and numpy arrays/dtypes.  Any other global or opcode raises ``ValueError``
-- nothing is imported or called from the file's say-so.
"""
import ast
import struct

import numpy as np

_MAGIC = b"\x93NUMPY"
_RECONSTRUCT = ("numpy.core.multiarray", "numpy._core.multiarray")


class _Global:
    """A recognised global named by the pickle (never an imported object)."""

    def __init__(self, kind):
        self.kind = kind


class _PendingArray:
    """An ndarray made by ``_reconstruct``, filled in by BUILD."""

    def __init__(self):
        self.array = None


def read_npy(fp):
    """Read one ``.npy`` stream (file object) into an ndarray; object arrays are parsed safely.

    >>> import io; buf = io.BytesIO(); np.save(buf, np.arange(3)); _ = buf.seek(0)
    >>> read_npy(buf)
    array([0, 1, 2])
    """
    dtype, shape, fortran = _read_header(fp)
    data = fp.read()
    if dtype.hasobject:
        arr = load_pickled_array(data)
        if arr.shape != tuple(shape):
            raise ValueError(f"object array has shape {arr.shape}, header says {tuple(shape)}")
        return arr
    arr = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)))
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def _read_header(fp):
    if fp.read(6) != _MAGIC:
        raise ValueError("not a .npy file (bad magic string)")
    major, _minor = fp.read(2)
    size_fmt = "<H" if major == 1 else "<I"
    (hlen,) = struct.unpack(size_fmt, fp.read(struct.calcsize(size_fmt)))
    header = fp.read(hlen).decode("utf8" if major >= 3 else "latin1")
    d = ast.literal_eval(header)  # a plain dict literal; literal_eval runs no code
    return np.dtype(d["descr"]), tuple(d["shape"]), bool(d["fortran_order"])


def load_pickled_array(data):
    """Build the ndarray that the pickle bytes ``data`` describe, or raise ``ValueError``.

    >>> import pickle
    >>> a = np.empty(2, dtype=object); a[0] = [1, 2]; a[1] = [3]
    >>> load_pickled_array(pickle.dumps(a, protocol=3)).tolist()
    [[1, 2], [3]]
    """
    result = _Machine(data).run()
    if isinstance(result, _PendingArray):
        result = result.array
    if not isinstance(result, np.ndarray):
        raise ValueError(f"pickle holds a {type(result).__name__}, not a numpy array")
    return result


class _Machine:
    """A pickle virtual machine restricted to plain data and numpy arrays."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0
        self.stack = []
        self.marks = []
        self.memo = {}

    # -- byte reading --------------------------------------------------------
    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("pickle data ends unexpectedly")
        chunk = self.data[self.pos:self.pos + n]  # bytes
        self.pos += n
        return chunk

    def uint(self, n):
        return int.from_bytes(self.take(n), "little")

    def line(self):
        end = self.data.index(b"\n", self.pos)
        text = self.data[self.pos:end].decode("ascii")
        self.pos = end + 1
        return text

    def pop_mark(self):
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    # -- main loop -----------------------------------------------------------
    def run(self):
        try:
            return self._loop()
        except IndexError:
            raise ValueError("pickle data ends unexpectedly or is malformed") from None

    def _loop(self):
        ops = self._ops()
        data, stack = self.data, self.stack
        push = stack.append
        pos = self.pos
        while True:
            op = data[pos]
            pos += 1
            # Fast path for the ints that make up nearly all of a token-list array.
            if op == 0x4D:  # BININT2
                push(data[pos] | data[pos + 1] << 8)
                pos += 2
            elif op == 0x4B:  # BININT1
                push(data[pos])
                pos += 1
            elif op == 0x2E:  # STOP
                return stack.pop()
            else:
                handler = ops.get(op)
                if handler is None:
                    raise ValueError(f"unsupported pickle opcode {bytes([op])!r} at byte {pos - 1}")
                self.pos = pos
                handler()
                pos = self.pos

    def _ops(self):
        push = self.stack.append
        return {
            0x80: lambda: self.take(1),                         # PROTO
            0x95: lambda: self.take(8),                         # FRAME
            0x28: lambda: self.marks.append(len(self.stack)),   # MARK
            0x4E: lambda: push(None),                           # NONE
            0x88: lambda: push(True),                           # NEWTRUE
            0x89: lambda: push(False),                          # NEWFALSE
            0x4B: lambda: push(self.uint(1)),                   # BININT1
            0x4D: lambda: push(self.uint(2)),                   # BININT2
            0x4A: lambda: push(int.from_bytes(self.take(4), "little", signed=True)),  # BININT
            0x8A: lambda: push(int.from_bytes(self.take(self.uint(1)), "little", signed=True)),  # LONG1
            0x8B: lambda: push(int.from_bytes(self.take(self.uint(4)), "little", signed=True)),  # LONG4
            0x49: self._int_line,                               # INT
            0x47: lambda: push(struct.unpack(">d", self.take(8))[0]),  # BINFLOAT
            0x55: lambda: push(bytes(self.take(self.uint(1)))),  # SHORT_BINSTRING (py2 str)
            0x54: lambda: push(bytes(self.take(self.uint(4)))),  # BINSTRING (py2 str)
            0x43: lambda: push(bytes(self.take(self.uint(1)))),  # SHORT_BINBYTES
            0x42: lambda: push(bytes(self.take(self.uint(4)))),  # BINBYTES
            0x8E: lambda: push(bytes(self.take(self.uint(8)))),  # BINBYTES8
            0x8C: lambda: push(str(self.take(self.uint(1)), "utf8")),  # SHORT_BINUNICODE
            0x58: lambda: push(str(self.take(self.uint(4)), "utf8")),  # BINUNICODE
            0x8D: lambda: push(str(self.take(self.uint(8)), "utf8")),  # BINUNICODE8
            0x29: lambda: push(()),                             # EMPTY_TUPLE
            0x85: lambda: self._tuple(1),                       # TUPLE1
            0x86: lambda: self._tuple(2),                       # TUPLE2
            0x87: lambda: self._tuple(3),                       # TUPLE3
            0x74: lambda: push(tuple(self.pop_mark())),         # TUPLE
            0x5D: lambda: push([]),                             # EMPTY_LIST
            0x6C: lambda: push(self.pop_mark()),                # LIST
            0x61: self._append,                                 # APPEND
            0x65: self._appends,                                # APPENDS
            0x71: lambda: self._put(self.uint(1)),              # BINPUT
            0x72: lambda: self._put(self.uint(4)),              # LONG_BINPUT
            0x70: lambda: self._put(int(self.line())),          # PUT
            0x94: lambda: self._put(len(self.memo)),            # MEMOIZE
            0x68: lambda: push(self._get(self.uint(1))),        # BINGET
            0x6A: lambda: push(self._get(self.uint(4))),        # LONG_BINGET
            0x67: lambda: push(self._get(int(self.line()))),    # GET
            0x63: lambda: push(_lookup(self.line(), self.line())),  # GLOBAL
            0x93: self._stack_global,                           # STACK_GLOBAL
            0x52: self._reduce,                                 # REDUCE
            0x62: self._build,                                  # BUILD
        }

    # -- opcode helpers ------------------------------------------------------
    def _int_line(self):
        text = self.line()
        self.stack.append({"00": False, "01": True}[text] if text in ("00", "01") else int(text))

    def _tuple(self, n):
        items = tuple(self.stack[-n:])
        del self.stack[-n:]
        self.stack.append(items)

    def _append(self):
        value = self.stack.pop()
        self._list_top().append(value)

    def _appends(self):
        items = self.pop_mark()
        self._list_top().extend(items)

    def _list_top(self):
        top = self.stack[-1]
        if not isinstance(top, list):
            raise ValueError(f"pickle appends to a {type(top).__name__}, expected a list")
        return top

    def _put(self, index):
        self.memo[index] = self.stack[-1]

    def _get(self, index):
        if index not in self.memo:
            raise ValueError(f"pickle refers to unknown memo entry {index}")
        return self.memo[index]

    def _stack_global(self):
        name = self.stack.pop()
        module = self.stack.pop()
        self.stack.append(_lookup(module, name))

    def _reduce(self):
        args = self.stack.pop()
        func = self.stack.pop()
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise ValueError("pickle calls something that is not an allowed numpy constructor")
        if func.kind == "reconstruct":
            self.stack.append(_PendingArray())
        elif func.kind == "dtype":
            self.stack.append(_make_dtype(args))
        elif func.kind == "encode":
            self.stack.append(_latin1_bytes(args))
        else:
            raise ValueError(f"pickle calls {func.kind!r} directly; only numpy arrays are supported")

    def _build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, _PendingArray):
            target.array = _array_from_state(state)
        elif isinstance(target, np.dtype):
            self.stack[-1] = _dtype_with_state(target, state)
        else:
            raise ValueError(f"pickle sets the state of a {type(target).__name__}; not supported")


def _lookup(module, name):
    if name == "_reconstruct" and module in _RECONSTRUCT:
        return _Global("reconstruct")
    if module == "numpy" and name == "ndarray":
        return _Global("ndarray")
    if module == "numpy" and name == "dtype":
        return _Global("dtype")
    if module == "_codecs" and name == "encode":  # protocol 2 spells bytes as encode(str, "latin1")
        return _Global("encode")
    raise ValueError(f"refusing to load pickle global {module}.{name}: only numpy arrays "
                     f"of plain Python values are read")


def _text(value):
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _latin1_bytes(args):
    if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
        raise ValueError("pickle calls _codecs.encode with unexpected arguments")
    return args[0].encode("latin1")


def _make_dtype(args):
    if not args:
        raise ValueError("pickle builds a dtype without arguments")
    return np.dtype(_text(args[0]))


def _dtype_with_state(dtype, state):
    # numpy's dtype state: (version, byteorder, ...). Only the byte order matters
    # for the simple dtypes accepted here.
    if not isinstance(state, tuple) or len(state) < 2:
        raise ValueError("pickle gives a dtype a malformed state")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"structured dtype {dtype} is not supported")
    order = _text(state[1])
    return dtype.newbyteorder(order) if order in ("<", ">") else dtype


def _array_from_state(state):
    # numpy's ndarray state: ([version,] shape, dtype, is_fortran, data)
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise ValueError("pickle gives an array a malformed state")
    shape, dtype, fortran, data = state[-4:]
    if not isinstance(dtype, np.dtype):
        raise ValueError("pickle gives an array a dtype that is not a numpy dtype")
    order = "F" if fortran else "C"
    count = int(np.prod(shape))
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != count:
            raise ValueError("object array data is not a list of the right length")
        flat = np.empty(count, dtype=object)
        for i, item in enumerate(data):
            flat[i] = item
        return flat.reshape(shape, order=order)
    if not isinstance(data, bytes):
        raise ValueError("array data is not a byte string")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order=order).copy()
