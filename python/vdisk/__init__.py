"""Python binding of libvdisk's C API (vdisk_c.h) through ctypes: no compiled extension.

    import vdisk
    report = vdisk.convert("disk.vmdk", "disk.vhd", target="azure",
                           progress=lambda done, total: print(done, total))
    vdisk.info("disk.vhd")["virtual_size"]
    vdisk.check("disk.vhd", "azure")["passed"]

The shared library is found, in this order: the path in the environment variable VDISK_LIBRARY;
libvdisk.so.0 next to this file (where `cmake --install` puts it); the system's libvdisk.so.0
(ctypes.util.find_library). docs/c-api.md describes the functions, options and JSON documents.
"""
import collections
import ctypes
import ctypes.util
import json
import os

__all__ = ["Error", "InvalidArgument", "NotFound", "AlreadyExists", "IOError_", "NoSpace",
           "Corrupt", "Unsupported", "OutOfRange", "Cancelled", "ResourceExhausted",
           "InternalError", "NoMemory", "Progress", "PHASES", "convert", "info", "measure",
           "check", "version", "library_path"]


class Error(Exception):
    """A libvdisk failure: `code` (the vdisk_errc value), `name` ("corrupt") and `message`."""

    code = None
    name = "error"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return f"{self.name}: {self.message}"


def _error_class(class_name, code, name, doc):
    return type(class_name, (Error,), {"code": code, "name": name, "__doc__": doc})


InvalidArgument = _error_class("InvalidArgument", 1, "invalid_argument", "Bad option or key.")
NotFound = _error_class("NotFound", 2, "not_found", "A named file does not exist.")
AlreadyExists = _error_class("AlreadyExists", 3, "already_exists", "Output exists.")
IOError_ = _error_class("IOError_", 4, "io_error", "The system reported a read/write failure.")
NoSpace = _error_class("NoSpace", 5, "no_space", "The output device is full.")
Corrupt = _error_class("Corrupt", 6, "corrupt", "The image breaks its format's rules.")
Unsupported = _error_class("Unsupported", 7, "unsupported", "A feature libvdisk lacks.")
OutOfRange = _error_class("OutOfRange", 8, "out_of_range", "A read or size past an end.")
Cancelled = _error_class("Cancelled", 9, "cancelled", "The progress callback cancelled.")
ResourceExhausted = _error_class("ResourceExhausted", 10, "resource_exhausted",
                                 "A configured bound would be exceeded.")
InternalError = _error_class("InternalError", 11, "internal", "A libvdisk bug.")
NoMemory = _error_class("NoMemory", 100, "no_memory", "An allocation failed.")
_ERRORS = {cls.code: cls for cls in (InvalidArgument, NotFound, AlreadyExists, IOError_, NoSpace,
                                     Corrupt, Unsupported, OutOfRange, Cancelled,
                                     ResourceExhausted, InternalError, NoMemory)}

_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)

PHASES = ("open", "scan", "copy", "finish", "done")  # vdisk_phase, in order


class _CProgress(ctypes.Structure):
    """vdisk_progress_t (vdisk_c.h): `size` first, fields only ever added at the end."""
    _fields_ = [("size", ctypes.c_uint32), ("phase", ctypes.c_uint32),
                ("done_bytes", ctypes.c_uint64), ("total_bytes", ctypes.c_uint64),
                ("data_bytes", ctypes.c_uint64), ("zero_bytes", ctypes.c_uint64),
                ("read_bytes", ctypes.c_uint64), ("data_total_bytes", ctypes.c_uint64),
                ("written_bytes", ctypes.c_uint64), ("sent_bytes", ctypes.c_uint64),
                ("retries", ctypes.c_uint64)]


_PROGRESS2 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_CProgress))


class Progress(collections.namedtuple("Progress", [f for f, _ in _CProgress._fields_[2:]] +
                                      ["phase"])):
    """One progress report of convert(on_progress=...): the phase name ("open", "scan",
    "copy", "finish", "done") and the byte counts of vdisk_progress_t (docs/json.md, progress
    lines): done_bytes, total_bytes (0 while unknown), data_bytes, zero_bytes, read_bytes,
    data_total_bytes (0 when unknown; an ETA counts data_total_bytes - read_bytes),
    written_bytes, and for uploads sent_bytes and retries. A field the loaded library does not
    fill is 0."""

    __slots__ = ()

    @classmethod
    def _from_c(cls, c):
        values = {}
        for name, ctype in _CProgress._fields_[2:]:
            end = getattr(_CProgress, name).offset + ctypes.sizeof(ctype)
            values[name] = getattr(c, name) if end <= c.size else 0
        phase = PHASES[c.phase] if c.phase < len(PHASES) else "unknown"
        return cls(phase=phase, **values)
_SONAME = "libvdisk.so.0"


def _candidates():
    env = os.environ.get("VDISK_LIBRARY")
    if env:
        return [env]  # an explicit choice is the only one tried
    found = [os.path.join(os.path.dirname(os.path.abspath(__file__)), _SONAME)]
    system = ctypes.util.find_library("vdisk")
    found.append(system or _SONAME)
    return found


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.vdisk_version  # a libvdisk with the C API
            return lib, path
        except (OSError, AttributeError) as e:
            errors.append(f"{path}: {e}")
    raise ImportError("vdisk: cannot load the shared libvdisk (set VDISK_LIBRARY): " +
                      "; ".join(errors))


_lib, library_path = _load()
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_c_void_pp = ctypes.POINTER(ctypes.c_void_p)
for _name, _res, _args in (
        ("vdisk_version", ctypes.c_char_p, []),
        ("vdisk_free", None, [ctypes.c_void_p]),
        ("vdisk_options_create", ctypes.c_void_p, []),
        ("vdisk_options_destroy", None, [ctypes.c_void_p]),
        ("vdisk_options_set", ctypes.c_int,
         [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, _c_void_pp]),
        ("vdisk_open", ctypes.c_int, [ctypes.c_char_p, ctypes.c_void_p, _c_void_pp, _c_void_pp]),
        ("vdisk_close", None, [ctypes.c_void_p]),
        ("vdisk_image_info_json", ctypes.c_int, [ctypes.c_void_p, _c_void_pp, _c_void_pp]),
        ("vdisk_measure_json", ctypes.c_int,
         [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, _c_void_pp, _c_void_pp]),
        ("vdisk_check_json", ctypes.c_int,
         [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, _c_void_pp,
          ctypes.POINTER(ctypes.c_int), _c_void_pp]),
        ("vdisk_convert", ctypes.c_int,
         [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, _PROGRESS, ctypes.c_void_p,
          _c_void_pp, _c_void_pp]),
        ("vdisk_convert2", ctypes.c_int,
         [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, _PROGRESS2, ctypes.c_void_p,
          _c_void_pp, _c_void_pp])):
    _fn = getattr(_lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


def version():
    """The version of the loaded library, e.g. "0.1.0"."""
    return _lib.vdisk_version().decode()


def _take_string(ptr):
    """The library's string at `ptr` (a c_void_p) as str, freed; None for NULL."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        _lib.vdisk_free(ptr)


def _check(code, err):
    message = _take_string(err)
    if code == 0:
        return
    cls = _ERRORS.get(code, Error)
    raise cls(message or "(no message)", code)


def _path(p):
    return os.fsencode(p)


def _text(value):
    if value is True:
        return b"on"
    if value is False:
        return b"off"
    if value is None:
        return b""
    return str(value).encode()


class _Options:
    """A vdisk_options_t for the duration of one call."""

    def __init__(self, settings):
        self.handle = _lib.vdisk_options_create()
        if not self.handle:
            raise NoMemory("vdisk_options_create failed")
        try:
            for key, value in settings:
                err = ctypes.c_void_p()
                _check(_lib.vdisk_options_set(self.handle, str(key).encode(), _text(value),
                                              ctypes.byref(err)), err)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.handle:
            _lib.vdisk_options_destroy(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _settings(target, options):
    items = []
    if target is not None:
        items.append(("target", target))  # first: the target's own options are checked by it
    items.extend((options or {}).items())
    return items


def convert(src, dst, target="raw", options=None, progress=None, on_progress=None):
    """Converts the image file `src` to `target` ("raw", "vhd", "azure", "gcp", "vmdk", ...) in
    `dst`, and returns the report (docs/json.md "convert") as a dict.

    `options` maps vdisk_options_set keys to values (True/False for flags): "overwrite",
    "threads", "checksums", "timestamp", "unique-id", "format", "format.KEY", and the target's
    own options ("subformat", or "target.subformat"). `progress(done, total)` is called from a
    library thread as bytes are written; returning False or raising cancels (Cancelled, with
    the callback's exception as __cause__), and no output is left behind. (A cancel that comes
    with the last progress call, once everything is written, may come too late: then the
    conversion succeeds and the callback's exception is not raised.)

    `on_progress(p)` instead gets every field, a Progress (phase, bytes read, written, sent,
    retries, ...): at each phase, after each chunk and about once a second; cancelling is the
    same. Give one of `progress` and `on_progress`, not both."""
    if progress is not None and on_progress is not None:
        raise InvalidArgument("convert: give progress or on_progress, not both")
    raised = []

    def call(fn, *args):
        try:
            return 1 if fn(*args) is False else 0
        except BaseException as e:  # noqa: B902 - handed back to the caller below
            raised.append(e)
            return 1

    with _Options(_settings(target, options)) as opts:
        report, err = ctypes.c_void_p(), ctypes.c_void_p()
        if on_progress is not None:
            callback = _PROGRESS2(lambda _ctx, p: call(on_progress, Progress._from_c(p.contents)))
            code = _lib.vdisk_convert2(_path(src), _path(dst), opts.handle, callback, None,
                                       ctypes.byref(report), ctypes.byref(err))
        else:
            callback = (_PROGRESS(lambda _ctx, done, total: call(progress, done, total))
                        if progress is not None else _PROGRESS())
            code = _lib.vdisk_convert(_path(src), _path(dst), opts.handle, callback, None,
                                      ctypes.byref(report), ctypes.byref(err))
    if code != 0 and raised:
        message = _take_string(err)
        raise Cancelled(message or "cancelled", code) from raised[0]
    _check(code, err)
    return json.loads(_take_string(report))


class _Image:
    def __init__(self, path, options):
        self.handle = ctypes.c_void_p()
        with _Options(_settings(None, options)) as opts:
            err = ctypes.c_void_p()
            _check(_lib.vdisk_open(_path(path), opts.handle, ctypes.byref(self.handle),
                                   ctypes.byref(err)), err)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _lib.vdisk_close(self.handle)


def info(path, options=None):
    """What libvdisk reads in the image file `path` (docs/json.md "info") as a dict: format,
    virtual_size, the format's facts, diagnostics. `options`: open keys ("format", ...)."""
    with _Image(path, options) as image:
        out, err = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.vdisk_image_info_json(image.handle, ctypes.byref(out), ctypes.byref(err)),
               err)
    return json.loads(_take_string(out))


def measure(path, target=None, options=None):
    """How large `target`'s output of the image `path` would be (every target when None), as a
    dict (docs/json.md "measure": source, measurements [...])."""
    with _Image(path, options) as image, _Options(_settings(target, options)) as opts:
        out, err = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.vdisk_measure_json(image.handle, opts.handle, _path(path), ctypes.byref(out),
                                       ctypes.byref(err)), err)
    return json.loads(_take_string(out))


def check(path, target=None, options=None):
    """Checks the file `path` against `target`'s rules ("azure", "gcp", "vmdk", ...; None: the
    file's default) and returns the report as a dict (docs/json.md "check"); report["passed"]
    says whether every rule held. Failed rules are not an exception; an unreadable file is."""
    with _Options(_settings(None, options)) as opts:
        out, err, passed = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_int(0)
        _check(_lib.vdisk_check_json(_path(path), None if target is None else target.encode(),
                                     opts.handle, ctypes.byref(out), ctypes.byref(passed),
                                     ctypes.byref(err)), err)
    report = json.loads(_take_string(out))
    report["passed"] = bool(passed.value)
    return report
