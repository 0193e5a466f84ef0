"""``Progbar``: the Keras progress bar (``12/12 ━━━━━━━━━━━━━━━━━━━━ 1s 10ms/step - accuracy: 0.9100 - loss: 0.2700``).

Why not tqdm (which is a core dependency anyway)? Keras users know this exact line, and ``verbose=1`` / ``2`` / ``0``
have Keras meanings that tqdm does not have: metrics printed after the bar with Keras' number format, "ms/step",
a one-line-per-epoch mode, stateful vs averaged metrics. Getting that out of tqdm takes a custom ``bar_format``,
postfix plumbing and still prints a different line; and when stdout is not a terminal tqdm keeps writing ``\\r``
updates into the log file. The Keras algorithm is ~150 lines of plain Python, so we keep it (written afresh, with
the same output), and print nothing but the final line when the output is not interactive.

>>> from kusari.utils import Progbar
>>> bar = Progbar(target=3, verbose=2)
>>> for step in range(1, 4):
...     bar.update(step, values=[("loss", 1.0 / step)])     # doctest: +ELLIPSIS
3/3 - 0s - ...s/step - loss: 0.6111
"""
import math
import os
import sys
import time

__all__ = ["Progbar"]


def _is_interactive():
    stream = sys.stdout
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def _bar_char():
    # "━" is what Keras draws; fall back to "=" on an output that cannot encode it (e.g. cp1252 logs on Windows).
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "━".encode(encoding)
        return "━"
    except (UnicodeEncodeError, LookupError):
        return "="


def _to_float(v):
    if isinstance(v, (int, float)):
        return float(v)
    if hasattr(v, "numpy") and not hasattr(v, "item"):
        v = v.numpy()
    try:
        return float(v)
    except (TypeError, ValueError):
        # a multi-element array: show its mean, as Keras does
        if hasattr(v, "mean"):
            return float(v.mean())
        raise


def _format_value(v):
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


class Progbar:
    """A Keras-style progress bar.

    Args:
        target: total number of steps expected, or None if unknown.
        width: bar width in characters.
        verbose: 0 silent, 1 a live bar updated every ``interval`` seconds (only the final line when stdout is not
            a terminal), 2 a single line once ``target`` is reached.
        interval: minimum seconds between two redraws of the live bar.
        stateful_metrics: names of values shown as given (already running averages or totals). Every other value
            is averaged over the steps it was reported for (weighted by the steps since the previous update).
        stateless_metrics: the opposite list (Keras 3): only these are averaged, all others shown as given.
            Give at most one of the two.
        unit_name: what a step is called in the time-per-unit display ("step" or "sample").

    ``update(current, values=None, finalize=None)`` sets the position; ``add(n, values=None)`` advances it.
    ``values`` is a list of ``(name, value)`` pairs.

    >>> bar = Progbar(target=2, verbose=2, stateful_metrics=["acc"])
    >>> bar.add(1, values=[("loss", 4.0), ("acc", 0.5)])
    >>> bar.add(1, values=[("loss", 2.0), ("acc", 0.75)])   # doctest: +ELLIPSIS
    2/2 - 0s - ...s/step - loss: 3.0000 - acc: 0.7500
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: give stateful_metrics or stateless_metrics, not both")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: verbose must be 0, 1 or 2, got {verbose!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics or ())
            self.stateless_metrics = None
        self._dynamic_display = _is_interactive()
        self._seen_so_far = 0
        self._values = {}                 # name -> [weighted sum, weight]
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        """Move the bar to step ``current`` (1-based count of steps done) and record ``values``.

        ``finalize`` marks the last update (default: ``current >= target``); it prints the final line.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            value = _to_float(value)
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_stateless(name):
                if current == self._seen_so_far and name in self._values:
                    # a repeated step (a finalizing call after the last batch): already counted
                    continue
                weight = max(current - self._seen_so_far, 1)
                acc = self._values.setdefault(name, [0.0, 0])
                acc[0] += value * weight
                acc[1] += weight
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize and (now - self._last_update < self.interval or not self._dynamic_display):
                return
            self._print_live(current, finalize, now, time_per_unit)
        elif self.verbose == 2 and finalize:
            self._print_summary(current, now, time_per_unit)
        self._last_update = now

    def add(self, n, values=None):
        """Advance the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # -- drawing --
    def _metrics_text(self):
        out = ""
        for name in self._values_order:
            total, count = self._values[name]
            out += f" - {name}:" + _format_value(total / max(1, count))
        return out

    def _print_live(self, current, finalize, now, time_per_unit):
        dynamic = self._dynamic_display
        bold, green, grey, reset = ("\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m") if dynamic else ("",) * 4
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            filled = min(self.width, int(self.width * current / self.target))
            char = _bar_char()
            bar = f"{bold}{count}{reset} "
            visible = len(count) + 1 + self.width
            if filled:
                bar += f"{green}{char * filled}{reset}"
            bar += f"{grey}{char * (self.width - filled)}{reset}"
        else:
            bar = f"{current:7d}/Unknown"
            visible = len(bar)
        if self.target is not None and self.target > 0 and not finalize:
            timing = _format_eta(time_per_unit * (self.target - current))
        else:
            timing = f"{now - self._start:.0f}s"
        info = f" {bold}{timing}{reset}" + _format_time(time_per_unit, self.unit_name) + self._metrics_text()
        visible += 1 + len(timing) + len(_format_time(time_per_unit, self.unit_name)) + len(self._metrics_text())
        if dynamic:
            message = "\r" + bar + info
            if self._prev_total_width > visible:
                message += " " * (self._prev_total_width - visible)
            self._prev_total_width = visible
        else:
            message = bar + info
        if finalize:
            message += "\n"
        _write(message)

    def _print_summary(self, current, now, time_per_unit):
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
        else:
            count = f"{current}"
        line = f"{count} - {now - self._start:.0f}s -{_format_time(time_per_unit, self.unit_name)}"
        _write(line + self._metrics_text() + "\n")

    def _estimate_step_duration(self, current, now):
        # Ignores the first step (often slow: caches, lazy builds) once more than one step is done.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit


def _format_time(time_per_unit, unit_name):
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _write(message):
    sys.stdout.write(message)
    sys.stdout.flush()
