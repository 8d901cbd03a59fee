"""Python binding of libvdisk's C API (vdisk_c.h) through ctypes: no compiled extension.

    import vdisk
    report = vdisk.convert("disk.vmdk", "disk.vhd", target="azure",
                           progress=lambda done, total: print(done, total))
    vdisk.info("disk.vhd")["virtual_size"]
    vdisk.check("disk.vhd", "azure")["passed"]

A SRC may also be remote, read where it lives (docs/c-api.md, "Remote sources"): an EBS
snapshot "ebs:snap-...", an S3 object "s3://BUCKET/KEY", an Azure blob URL with its SAS, or any
http(s) URL, with the credentials given as option values (the library reads no environment):

    with vdisk.open("s3://disks/disk.qcow2", options={"aws.region": "eu-west-1",
                    "aws.access-key-id": key_id, "aws.secret-access-key": secret}) as image:
        image.info()["remote_source"]["bytes_received"]

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
           "InternalError", "NoMemory", "Progress", "PHASES", "Image", "open", "convert", "info",
           "measure", "check", "version", "library_path"]


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
        ("vdisk_image_format", ctypes.c_char_p, [ctypes.c_void_p]),
        ("vdisk_image_size", ctypes.c_uint64, [ctypes.c_void_p]),
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
    for key, value in (options or {}).items():
        # A repeatable key ("http.header") may be given a list: each item is set in turn.
        if isinstance(value, (list, tuple)):
            items.extend((key, v) for v in value)
        else:
            items.append((key, value))
    return items


def convert(src, dst, target="raw", options=None, progress=None, on_progress=None):
    """Converts the image `src` (a file, or a remote SRC as open() takes: read where it lives,
    front to back from a server without Range support) to `target` ("raw", "vhd", "azure",
    "gcp", "vmdk", ...) in `dst`, and returns the report (docs/json.md "convert") as a dict.

    `dst` may be a cloud destination, written as the output is made with no local copy: an
    Azure page blob URL with a SAS (or a managed disk's upload URL; target "azure" or a fixed
    VHD), "s3://BUCKET/KEY" (any target) or "ebs:" (a new EBS snapshot, target "aws-snapshot").
    A target the destination does not take is refused (InvalidArgument) before any request. The
    report then has an "upload" object (what was sent; for "ebs:" the snapshot's "object_id"),
    the URL shown with its signature redacted; on failure the message says what became of the
    partial object, and never holds a secret.

    `options` maps vdisk_options_set keys to values (True/False for flags): "overwrite",
    "threads", "checksums", "timestamp", "unique-id", "format", "format.KEY", the target's
    own options ("subformat", or "target.subformat"), a remote SRC's keys (see open()), and a
    cloud DST's: "aws.*" and "http.*" as a SRC takes them, "overwrite" (an existing blob or
    object), "resume", "put-md5", "update", "managed-disk" ("auto", True, False) for an Azure
    blob, "verify" (read the upload back), "description", "tag" ("KEY=VALUE", or a list of
    them) and "parent-snapshot" for "ebs:".
    `progress(done, total)` is called from a library thread as bytes are written; returning False or raising cancels (Cancelled, with
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


class Image:
    """An open image (vdisk_open): a local file or a remote SRC read where it lives. Use it as a
    context manager, or call close(). `format` and `size` are the format's name and the virtual
    size in bytes."""

    def __init__(self, src, options=None):
        self.src = src
        self.handle = ctypes.c_void_p()
        with _Options(_settings(None, options)) as opts:
            err = ctypes.c_void_p()
            _check(_lib.vdisk_open(_path(src), opts.handle, ctypes.byref(self.handle),
                                   ctypes.byref(err)), err)

    def _live(self):
        if not self.handle:
            raise InvalidArgument("the image is closed")
        return self.handle

    @property
    def format(self):
        return _lib.vdisk_image_format(self._live()).decode()

    @property
    def size(self):
        return _lib.vdisk_image_size(self._live())

    def info(self):
        """The image described (docs/json.md "info") as a dict: format, virtual_size, the
        format's facts, diagnostics; for a remote SRC "remote_source" too (the object's facts
        and what reading it took: requests, bytes_received, ...)."""
        out, err = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.vdisk_image_info_json(self._live(), ctypes.byref(out), ctypes.byref(err)),
               err)
        return json.loads(_take_string(out))

    def measure(self, target=None, options=None):
        """How large `target`'s output would be (every target when None), as a dict
        (docs/json.md "measure"). The "source" shown is the SRC, its secrets redacted."""
        with _Options(_settings(target, options)) as opts:
            out, err = ctypes.c_void_p(), ctypes.c_void_p()
            _check(_lib.vdisk_measure_json(self._live(), opts.handle, None, ctypes.byref(out),
                                           ctypes.byref(err)), err)
        return json.loads(_take_string(out))

    def close(self):
        if self.handle:
            _lib.vdisk_close(self.handle)
            self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(src, options=None):  # noqa: A001 - vdisk.open, as the C API's vdisk_open
    """Opens the image `src` and returns an Image (a context manager). `src` is a path or a
    remote SRC: "ebs:snap-...", "s3://BUCKET/KEY", an Azure blob URL with a SAS, an http(s) URL
    (a server that does not answer ranged requests is refused: an image reads at random; convert
    it instead). `options` maps vdisk_options_set keys to values: the open keys ("format",
    "disk-index", ...) and a remote SRC's: "aws.access-key-id", "aws.secret-access-key",
    "aws.session-token", "aws.region", "aws.endpoint-url", "http.connections", "http.timeout",
    "http.retries", "http.ca-file", "http.header" ("NAME: VALUE", or a list of them), "since"
    (an EBS snapshot id). No secret appears in an error or a report."""
    return Image(src, options)


def info(path, options=None):
    """What libvdisk reads in the image `path` (a file or a remote SRC, as open() takes) as a
    dict (docs/json.md "info"): format, virtual_size, the format's facts, diagnostics, and for a
    remote SRC "remote_source". `options`: open keys ("format", ...) and remote keys."""
    with Image(path, options) as image:
        return image.info()


def measure(path, target=None, options=None):
    """How large `target`'s output of the image `path` (a file or a remote SRC) would be (every
    target when None), as a dict (docs/json.md "measure": source, measurements [...])."""
    with Image(path, options) as image:
        return image.measure(target, options)


def check(path, target=None, options=None):
    """Checks the file `path` (or a remote SRC, as open() takes, read where it lives) against
    `target`'s rules ("azure", "gcp", "vmdk", ...; None: the file's default) and returns the
    report as a dict (docs/json.md "check"); report["passed"] says whether every rule held.
    Failed rules are not an exception; an unreadable file is. `options`: "ignore-parent-identity"
    and a remote SRC's keys (see open())."""
    with _Options(_settings(None, options)) as opts:
        out, err, passed = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_int(0)
        _check(_lib.vdisk_check_json(_path(path), None if target is None else target.encode(),
                                     opts.handle, ctypes.byref(out), ctypes.byref(passed),
                                     ctypes.byref(err)), err)
    report = json.loads(_take_string(out))
    report["passed"] = bool(passed.value)
    return report
