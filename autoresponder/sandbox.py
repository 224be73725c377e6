"""The template sandbox, bounded: Jinja2's SandboxedEnvironment plus limits on what one
rendering may cost (README, "Templates": ``render_timeout``, ``render_max_chars``).

Jinja2's sandbox keeps a template away from Python's internals, but not from asking for a
billion characters (``{{ 'x' * 10**9 }}``) or ten billion turns of nested loops, which held
``deliver`` until the MTA killed it. The bounds, from the most precise to the most general:

- size: ``*``, ``+``, ``%`` and ``**`` are intercepted and refused when their result would be
  over ``render_max_chars`` (characters, or items of a list); so are the string methods and
  filters that multiply text (``ljust``/``rjust``/``center``/``zfill``/``expandtabs``/
  ``replace``/``join``/``translate``/``format``; ``|center``, ``|indent``, ``|wordwrap``,
  ``|join``, ``|replace``, ``|format``, ``|batch``, ``|tojson``), any call with an argument
  over the limit (a macro recursing on doubled strings), a list, dict or set grown in place
  past it, ``~`` and ``{% set %}`` values and ``namespace`` attributes over it. ``lipsum`` is
  not offered.
- output: the template is rendered chunk by chunk and stops past ``render_max_chars``.
- time: every ``for`` loop and every output chunk checks the deadline (``render_timeout``);
  in the main thread a SIGALRM timer also interrupts work that yields nothing.
- memory: in the main thread on Linux the address space may grow by at most
  ``RENDER_MEMORY`` while a template renders (RLIMIT_AS, restored afterwards), so whatever
  the checks above miss ends as a MemoryError instead of exhausting the machine.

A bound hit raises ``OverLimit``; ``render`` turns it into a TemplateError: a
``template-error`` at delivery (exit 0, no reply) and a FAIL in ``template check``.
"""

import functools
import math
import os
import re
import threading
import time

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

RENDER_TIMEOUT = 5            # seconds per template (config: render_timeout)
RENDER_MAX_CHARS = 1_000_000  # characters of output, and of any value made (render_max_chars)
RENDER_MEMORY = 256 << 20     # bytes of address space a render may add (main thread, Linux)
MAX_INT_BITS = 1 << 16        # integers a template may compute (2**65536 has 19,729 digits)
_CHECK_EVERY = 256            # loop turns between two looks at the clock

# printf-style conversions: width and precision are what can make the output huge
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


class OverLimit(BaseException):
    """A bound was hit. A BaseException, so that no ``except Exception`` in a filter, a
    helper or Jinja2's runtime can swallow it and render on."""


def _weight(x) -> int:
    """Characters (or items) a value holds, one level deep: what copying it costs."""
    if isinstance(x, (str, bytes)):
        return len(x)
    if isinstance(x, (list, tuple)):
        return len(x) + sum(len(i) for i in x if isinstance(i, (str, bytes)))
    if isinstance(x, dict):
        return len(x) + sum(len(v) for v in x.values() if isinstance(v, (str, bytes)))
    return 0


def _int(x) -> int:
    return x if isinstance(x, int) else 0


class _GuardedLoops(CodeGenerator):
    """Compiles ``{% for x in seq %}`` as ``for x in environment.guard_iter(seq)``, so every
    loop, however it is nested and whatever it iterates, looks at the deadline."""

    def visit_For(self, node, frame):  # noqa: N802 - Jinja2's visitor naming
        node.iter = nodes.Call(nodes.EnvironmentAttribute("guard_iter"), [node.iter], [], None,
                               None, lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Assign(self, node, frame):  # noqa: N802
        """``{% set x = value %}``: the value goes through ``environment.call``, which refuses
        it over the size limit (so no chain of sets can double a string unchecked)."""
        node.node = nodes.Call(nodes.EnvironmentAttribute("guard_value"), [node.node], [], None,
                               None, lineno=node.lineno)
        super().visit_Assign(node, frame)

    def visit_Concat(self, node, frame):  # noqa: N802
        """``a ~ b``: the joined string is checked against the size limit."""
        self.write("environment.guard_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedEnvironment(SandboxedEnvironment):
    """SandboxedEnvironment with the bounds above; ``bounds()`` arms them for one render."""

    code_generator_class = _GuardedLoops
    intercepted_binops = frozenset(("*", "**", "+", "%"))

    def __init__(self, *args, max_chars: int = RENDER_MAX_CHARS,
                 timeout: float = RENDER_TIMEOUT, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_chars = max_chars
        self.timeout = timeout
        self._local = threading.local()  # the deadline of the render running in this thread
        self.globals.pop("lipsum", None)
        self.globals["namespace"] = _bounded_namespace(self)
        for name, estimate in _FILTER_SIZES.items():
            if name in self.filters:
                self.filters[name] = _guard_filter(self, name, self.filters[name], estimate)
        if "join" in self.filters:
            self.filters["join"] = _guard_join(self, self.filters["join"])

    # -- time -------------------------------------------------------------------------------
    def bounds(self) -> "_Bounds":
        return _Bounds(self)

    def check_time(self) -> None:
        deadline = getattr(self._local, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            raise OverLimit(self.time_message())

    def time_message(self) -> str:
        return f"took longer than the render time limit (render_timeout = {self.timeout:g}s)"

    def guard_iter(self, iterable):
        deadline = getattr(self._local, "deadline", None)
        n = 0
        for item in iterable:
            n += 1
            if n % _CHECK_EVERY == 0 and deadline is not None and time.monotonic() > deadline:
                raise OverLimit(self.time_message())
            yield item

    # -- size -------------------------------------------------------------------------------
    @staticmethod
    def guard_value(value):
        return value  # reached through call(), which has checked it

    def guard_concat(self, value):
        self.refuse("'~'", _weight(value))
        return value

    def refuse(self, what: str, size: int) -> None:
        if size > self.max_chars:
            raise OverLimit(f"{what} would make about {size} characters or items, more than "
                            f"render_max_chars ({self.max_chars})")

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and n > 0:
                    self.refuse("'*'", _weight(seq) * n)
            if isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise OverLimit(f"'*' would make an integer of more than {MAX_INT_BITS} bits")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1 \
                    and math.log2(abs(left)) * right > MAX_INT_BITS:
                raise OverLimit(f"'**' would make an integer of more than {MAX_INT_BITS} bits")
        elif operator == "+":
            if isinstance(left, (str, bytes, list, tuple)) and \
                    isinstance(right, (str, bytes, list, tuple)):
                self.refuse("'+'", _weight(left) + _weight(right))
        elif operator == "%" and isinstance(left, str):
            self._check_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def _check_percent(self, fmt: str, args) -> None:
        for m in _PERCENT.finditer(fmt):
            for g in m.groups():
                if g and g != "*":
                    self.refuse("a % width or precision", int(g))
        values = args.values() if isinstance(args, dict) else \
            args if isinstance(args, tuple) else (args,)
        total = len(fmt)
        for v in values:
            if isinstance(v, int):
                self.refuse("a % width or precision", v)  # '*' takes its width from here
            total += _weight(v)
        self.refuse("'%'", total)

    def _check_format(self, fmt: str, args, kwargs) -> None:
        import string

        try:
            fields = list(string.Formatter().parse(fmt))
        except ValueError:
            return  # a malformed format string fails by itself
        total = len(fmt)
        for _, _, spec, _ in fields:
            for run in _DIGITS.findall(spec or ""):
                self.refuse("a format width or precision", int(run))
        for v in (*args, *kwargs.values()):
            for w in (v.values() if isinstance(v, dict) else (v,)):
                if isinstance(w, int):
                    self.refuse("a format width or precision", w)  # a nested {width} field
                total += _weight(w)
        self.refuse("format()", total)

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args, **kwargs):
            self._check_format(fmt, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja2's signature
        for v in args:
            __self.refuse("an argument", _weight(v))
        for k, v in kwargs.items():
            if k not in ("_loop_vars", "_block_vars"):
                __self.refuse("an argument", _weight(v))
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                args = (list(args[0]),) + args[1:]
            __self._check_str_method(owner, name, args, kwargs)
        elif isinstance(owner, (list, dict, set)):  # growing a container in place
            name = getattr(__obj, "__name__", "")
            if name in ("extend", "update") and args and not hasattr(args[0], "__len__"):
                args = (list(args[0]),) + args[1:]  # a generator is read once, here
            if name in ("append", "insert", "add", "setdefault"):
                __self.refuse(f"{type(owner).__name__}.{name}()", len(owner) + 1)
            elif name in ("extend", "update"):
                __self.refuse(f"{type(owner).__name__}.{name}()", len(owner) + sum(
                    len(a) if hasattr(a, "__len__") else 0 for a in (*args, kwargs)))
        return super().call(__context, __obj, *args, **kwargs)

    def _check_str_method(self, s: str, name: str, args, kwargs) -> None:
        what = f"str.{name}()"
        if name in ("ljust", "rjust", "center", "zfill"):
            self.refuse(what, _int(args[0] if args else kwargs.get("width", 0)))
        elif name == "expandtabs":
            size = _int(args[0] if args else kwargs.get("tabsize", 8))
            self.refuse(what, len(s) + s.count("\t") * size)
        elif name == "replace" and len(args) >= 2:
            self.refuse(what, _replaced_size(s, *args[:3]))
        elif name == "join" and args:
            items = args[0]
            self.refuse(what, sum(_weight(i) for i in items) + len(s) * len(items))
        elif name == "translate" and args and isinstance(args[0], dict):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
            self.refuse(what, len(s) * max(1, longest))
        elif name in ("format", "format_map"):  # Jinja2 < 3.1.5 calls the method itself
            self._check_format(s, args, kwargs)


class _Bounds:
    """Arms the deadline (and, in the main thread, SIGALRM and RLIMIT_AS) for one render."""

    def __init__(self, env: BoundedEnvironment):
        self.env = env
        self.armed = False
        self.old_handler = self.old_timer = self.old_limit = None

    def __enter__(self):
        env = self.env
        start = time.monotonic()
        env._local.deadline = start + env.timeout
        self.start = start
        if threading.current_thread() is threading.main_thread():
            self._arm_alarm()
            self.old_limit = _lower_memory_limit()
        return self

    def _arm_alarm(self) -> None:
        import signal

        if not hasattr(signal, "setitimer"):
            return

        def on_alarm(signum, frame):
            if self.armed:
                self.armed = False
                raise OverLimit(self.env.time_message())

        self.armed = True
        self.old_handler = signal.signal(signal.SIGALRM, on_alarm)
        self.old_timer = signal.setitimer(signal.ITIMER_REAL, self.env.timeout)

    def __exit__(self, *exc):
        try:
            self.armed = False  # from here the handler does nothing, even if the signal comes
        finally:
            self._restore()

    def _restore(self) -> None:
        self.env._local.deadline = None
        if self.old_handler is not None:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old_handler)
            delay, interval = self.old_timer
            if delay > 0:  # someone else's timer was running: give it back, minus our time
                left = max(delay - (time.monotonic() - self.start), 1e-6)
                signal.setitimer(signal.ITIMER_REAL, left, interval)
            self.old_handler = None
        if self.old_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self.old_limit)
            self.old_limit = None


def _lower_memory_limit():
    """Cap the address space at its present size plus RENDER_MEMORY; the old (soft, hard)
    limit to restore, or None where that cannot be done (no /proc, no resource module)."""
    try:
        import resource

        with open("/proc/self/statm", "rb") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = size + RENDER_MEMORY
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft != resource.RLIM_INFINITY and soft <= want:
            return None
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        return soft, hard
    except (ImportError, OSError, ValueError, IndexError):
        return None


def _bounded_namespace(env: BoundedEnvironment):
    class BoundedNamespace(Namespace):
        """``namespace()`` whose attributes stay under the size limit (a loop that doubles a
        string held in a namespace is refused, not left to exhaust memory)."""

        def __setitem__(self, name, value):
            env.refuse("a namespace attribute", _weight(value))
            super().__setitem__(name, value)

    return BoundedNamespace


def _replaced_size(s, old, new, count=None) -> int:
    s, old, new = str(s), str(old), str(new)
    n = len(s) + 1 if old == "" else s.count(old)
    if isinstance(count, int) and 0 <= count < n:
        n = count
    return len(s) + n * max(0, len(new) - len(old))


def _wrapped_size(s, width=79, break_long_words=True, wrapstring=None, *_, **__) -> int:
    s = str(s)
    lines = len(s) // max(1, _int(width)) + s.count(" ") + s.count("\n") + 1
    return len(s) + lines * len("\n" if wrapstring is None else str(wrapstring))


def _indented_size(s, width=4, *_, **__) -> int:
    s = str(s)
    w = len(width) if isinstance(width, str) else _int(width)
    return len(s) + (s.count("\n") + 1) * w


def _percent_size(value, *args, **kwargs) -> int:
    return len(str(value)) + sum(_weight(v) for v in (*args, *kwargs.values()))


# filter -> size of its result, from its arguments (after the one Jinja2 may pass first)
_FILTER_SIZES = {
    "center": lambda value, width=80, *_, **__: max(len(str(value)), _int(width)),
    "indent": _indented_size,
    "wordwrap": _wrapped_size,
    "replace": lambda s, old, new, count=None, *_, **__: _replaced_size(s, old, new, count),
    "format": _percent_size,
    "batch": lambda value, linecount, fill_with=None, *_, **__:
        _weight(value) + (_int(linecount) if fill_with is not None else 0),
    "tojson": lambda value, indent=None, *_, **__: _int(indent),
}


def _guard_filter(env: BoundedEnvironment, name: str, fn, size_of):
    skip = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(fn)  # keeps jinja_pass_arg: Jinja2 still passes what the filter wants
    def guarded(*args, **kwargs):
        try:
            size = size_of(*args[skip:], **kwargs)
        except Exception:  # noqa: BLE001 - bad arguments: the filter itself says what is wrong
            size = 0
        env.refuse(f"|{name}", size)
        if name == "format" and len(args) > skip and isinstance(args[skip], str):
            env._check_percent(args[skip], tuple(args[skip + 1:]) or kwargs)
        return fn(*args, **kwargs)

    return guarded


def _guard_join(env: BoundedEnvironment, fn):
    skip = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        args = list(args)
        if len(args) > skip:
            items = args[skip] = list(args[skip])  # a generator is read once, here
            sep = args[skip + 1] if len(args) > skip + 1 else kwargs.get("d", "")
            env.refuse("|join", sum(_weight(i) if isinstance(i, (str, bytes)) else
                                    len(str(i)) if isinstance(i, (int, float)) else _weight(i)
                                    for i in items) + len(str(sep)) * len(items))
        return fn(*args, **kwargs)

    return guarded


def render_text(env: BoundedEnvironment, template, context: dict) -> "tuple[str, dict]":
    """Render template within the bounds: (its output, the names it exports at top level,
    such as ``subject``). Raises OverLimit or what the template raises."""
    ctx = template.new_context(context)
    chunks: "list[str]" = []
    size = 0
    with env.bounds():
        for chunk in template.root_render_func(ctx):
            size += len(chunk)
            if size > env.max_chars:
                raise OverLimit(f"the output is longer than render_max_chars "
                                f"({env.max_chars} characters)")
            chunks.append(chunk)
            if len(chunks) % _CHECK_EVERY == 0:
                env.check_time()
        env.check_time()
        exported = ctx.get_exported()
    return "".join(chunks), exported
