#!/usr/bin/env python3
"""Fails when a comment or document in the repository names a file that is not in it.

Usage: tests/docs/check_references.py [REPO_ROOT]   (default: two levels above this script)

What is read (the repository's tracked files, `git ls-files`, or the tree when git is missing;
data under fuzz/corpus/ is skipped):
  - C and C++ sources and headers: comments only (// and /* */; string literals are skipped);
  - shell, Python, CMake, fuzz dictionaries, .ci/run: `#` comments, and Python's triple-quoted
    strings (docstrings);
  - Markdown: the whole text.

What counts as a reference (a word that looks like a path, not part of a longer path, URL or
shell variable; one holding a placeholder such as <name> or ${dir} is skipped):
  - a path whose first component is a top-level directory of the repository (docs/, tests/, ...):
    that file, or that directory, must exist from the top of the repository (or from the citing
    file's directory); `*` globs must match at least one file, `a.{h,cpp}` names each file;
  - any other path with a '/' and a file extension: some tracked file's path must end with it
    (`image/registry.cpp` is libvdisk/src/image/registry.cpp); `./` and `../` resolve from the
    citing file;
  - a bare file name with a source or document extension (.md .h .hpp .c .cc .cpp .py .sh
    .cmake): some tracked file must have that name;
  - a section of a repository document named right after it, by number (`docs/livecd.md §1.1`,
    `§1-§3`) or by title in double quotes (`docs/targets.md "Padding lives in the view"`): the
    document must have a heading with that number, or one whose text contains that title.
A word right after a shell redirection (`> report.md`) names an output, not a reference.
ALLOW lists the names of files of other projects that comments cite (with the project).

Also fails on any mention of `../shared` or `shared/docs`: notes outside the repository are
not citable; cite the specification or a document under docs/.

Prints file:line: reference (reason) for each failure and exits 1; exits 0 when all resolve.
"""

import fnmatch
import os
import re
import subprocess
import sys

# Files of other projects that comments and documents cite by name. Each entry is matched
# against the reference as written.
ALLOW = {
    # QEMU (block drivers and the format specifications in its docs/interop/)
    "block/vmdk.c", "block/vpc.c", "block/qcow.c", "block/qcow2.c", "block/vdi.c",
    "block/vhdx.c", "vmdk.c", "vpc.c", "docs/interop/qcow2.txt", "docs/interop/qed_spec.txt",
    "docs/interop/parallels.txt",
    # VirtualBox
    "src/VBox/Storage/VDICore.h", "src/VBox/Storage/VDI.cpp", "VDICore.h", "VDI.cpp",
    # syslinux
    "utils/isohybrid.c", "isohybrid.c", "mbr/isohdpfx.S", "core/fs/lib/loadconfig.c",
    # GRUB
    "grub-core/boot/i386/pc/boot.S", "grub-core/boot/i386/pc/diskboot.S",
    "include/grub/i386/pc/boot.h", "util/grub-mkrescue.c",
    # TianoCore EDK2 (a directory)
    "MdeModulePkg/Universal/Disk/PartitionDxe",
    # Linux
    "arch/x86/include/asm/setup.h", "drivers/ata/ata_piix.c",
    "Documentation/driver-api/early-userspace/buffer-format.rst",
    # leveldb (its C API, the model of vdisk_c.h's error reporting)
    "include/leveldb/c.h",
    # libisofs, livecd-tools, GNU tar, zlib
    "doc/zisofs_format.txt", "imgcreate/live.py", "sparse.c", "examples/zran.c",
    # made by `npm ci` in tests/cloud (.ci/run), not tracked
    "tests/cloud/node_modules",
}

SOURCE_EXT = {".c", ".cc", ".cpp", ".h", ".hpp", ".in"}
HASH_COMMENT_EXT = {".sh", ".py", ".cmake", ".dict"}
SKIP_PREFIXES = ("fuzz/corpus/",)
BARE_EXT = ("md", "h", "hpp", "c", "cc", "cpp", "py", "sh", "cmake")
PATH_EXT = BARE_EXT + ("txt", "json", "tsv", "dict", "in", "S")

# A path-like word: components of letters, digits, '_', '.', '-', '*', joined by '/', with an
# optional brace list as its extension. Not preceded by a character that would make it the tail
# of a longer path, URL or variable; not followed by one that makes it the head of one.
WORD = re.compile(
    r"(?<![\w./\-*$<>{}@:~])"
    r"((?:\.\.?/)*(?:[\w\-*][\w.\-*]*/)*[\w\-*][\w.\-*]*(?:\.\{[\w,]+\})?/?)"
    r"(?![\w\-*<>{$@]|\.[\w*]|/[\w.<>{$*])")
REDIRECT = re.compile(r"(?:^|[^\-<>])>>?\s*$")
SECTIONS = re.compile(r"\s*(?:§\s*\d+(?:\.\d+)*(?:\([A-Za-z]\))?"
                      r"(?:\s*(?:-|–|,|and)\s*§?\s*\d+(?:\.\d+)*(?:\([A-Za-z]\))?)*)")
SECTION_NUM = re.compile(r"(\d+(?:\.\d+)*)")
# A section named by its title right after the document: DOC "Title", DOC, "Title",
# DOC §2 "Title", DOC's "Title".
TITLE = re.compile(r"(?:'s)?,?\s*(?:§\s*\d+(?:\.\d+)*(?:\([A-Za-z]\))?\s*)?\"([^\"]+)\"")


def tracked_files(root):
    """The repository's files: `git ls-files`, or, in a copy without git (a source tarball), every
    file under root except build trees (a directory holding CMakeCache.txt), node_modules and
    caches."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for d, subdirs, names in os.walk(root):
        if "CMakeCache.txt" in names and d != root:
            subdirs[:] = []
            continue
        subdirs[:] = sorted(s for s in subdirs
                            if s not in (".git", "node_modules", "__pycache__")
                            and not (d == root and s.startswith("build")))
        rel = os.path.relpath(d, root)
        files += [n if rel == "." else f"{rel}/{n}" for n in sorted(names)]
    return files


def c_comments(text, code):
    """Yields (line, text) for every comment of a C or C++ file, one item per line; appends the
    rest (code and string literals) to the list code."""
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            yield line, text[i + 2:j]
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j
            for k, part in enumerate(text[i + 2:j].split("\n")):
                yield line + k, part
            line += text.count("\n", i, j)
            i = j + 2
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum()
                                                                       or text[i - 1] == "_")):
            m = re.compile(r'R"([^(\s]*)\(').match(text, i)
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', m.end())
            end = n if end < 0 else end + len(m.group(1)) + 2
            line += text.count("\n", i, end)
            code.append(text[i:end])
            i = end
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            code.append(text[i:j + 1])
            i = j + 1
        else:
            code.append(c)
            i += 1


def hash_comments(text, python, code):
    """Yields (line, text) for `#` comments (and Python triple-quoted strings); appends the rest
    of each line to the list code."""
    in_triple = None
    for no, raw in enumerate(text.split("\n"), 1):
        i, n, quote = 0, len(raw), None
        while i < n:
            if in_triple:
                j = raw.find(in_triple, i)
                yield no, raw[i:n if j < 0 else j]
                if j < 0:
                    i = n
                else:
                    i, in_triple = j + 3, None
                continue
            c = raw[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = None
            elif python and raw.startswith(('"""', "'''"), i):
                in_triple = raw[i:i + 3]
                i += 3
                continue
            elif c in "\"'" and (python or c == '"'):
                quote = c
            elif c == "#" and (i == 0 or raw[i - 1] in " \t;("):
                yield no, raw[i + 1:]
                break
            code.append(c)
            i += 1
        code.append("\n")


def texts(path, text, code):
    base = os.path.basename(path)
    ext = os.path.splitext(base)[1]
    if ext == ".md":
        return ((no, l) for no, l in enumerate(text.split("\n"), 1))
    if ext in SOURCE_EXT and not base.endswith((".pc.in", ".cmake.in")):
        return c_comments(text, code)
    if ext in HASH_COMMENT_EXT or base == "CMakeLists.txt" or base.endswith(".cmake.in") \
            or text.startswith("#!"):
        return hash_comments(text, ext == ".py" or text.startswith("#!/usr/bin/env python"),
                             code)
    return iter(())


class Repo:
    def __init__(self, root, files):
        self.root = root
        self.files = set(files)
        self.dirs = set()
        for f in files:
            d = os.path.dirname(f)
            while d and d not in self.dirs:
                self.dirs.add(d)
                d = os.path.dirname(d)
        self.top = {f.split("/", 1)[0] for f in files if "/" in f}
        self.names = {os.path.basename(f) for f in files}
        self.headings = {}

    def exists(self, p):
        p = p.rstrip("/")
        if "*" in p:
            return any(fnmatch.fnmatchcase(f, p) for f in self.files)
        # A template CMake configures (name + ".in"); a program built from one source (name +
        # ".cpp", e.g. bench/floor).
        return p in self.files or p in self.dirs or p + ".in" in self.files or (
            "." not in os.path.basename(p) and (p + ".cpp") in self.files)

    def sections(self, doc):
        """(numbers, titles) of a Markdown document's headings; titles lower-case, no backticks."""
        if doc not in self.headings:
            nums, titles = set(), []
            with open(os.path.join(self.root, doc), encoding="utf-8") as f:
                fenced = False
                for l in f:
                    if l.startswith("```"):
                        fenced = not fenced
                    if fenced or not l.startswith("#"):
                        continue
                    m = re.match(r"#+\s+(\d+(?:\.\d+)*)[.\s]", l)
                    if m:
                        nums.add(m.group(1))
                    titles.append(l.lstrip("#").strip().replace("`", "").lower())
            self.headings[doc] = (nums, titles)
        return self.headings[doc]

    def resolve(self, ref, citing):
        """The repository path ref names, "" for a bare name found, or None when missing."""
        here = os.path.dirname(citing)
        if ref.startswith(("./", "../")):
            p = os.path.normpath(os.path.join(here, ref))
            return p if self.exists(p) else None
        if "/" not in ref:
            return "" if any(fnmatch.fnmatchcase(n, ref) or n == ref + ".in"
                             for n in self.names) else None
        for p in (ref, os.path.join(here, ref)):
            if self.exists(p):
                return p.rstrip("/")
        if ref.split("/", 1)[0] in self.top:
            return None
        tail = "/" + ref.rstrip("/")
        for f in self.files:
            if fnmatch.fnmatchcase(f, "*" + tail):
                return f
        for d in self.dirs:
            if fnmatch.fnmatchcase(d, "*" + tail):
                return d
        return None


def candidates(word, repo):
    """The references a path-like word makes (brace lists expanded), or [] if it makes none."""
    w = word.rstrip(".")
    if w.endswith("/"):
        core, ext = w.rstrip("/"), None
    else:
        core, ext = w, None
        m = re.search(r"\.(\{[\w,]+\}|[A-Za-z]+)$", w)
        if m:
            ext = m.group(1)
    first = w.split("/", 1)[0]
    if any(re.search(r"\.(%s)$" % "|".join(PATH_EXT), c) for c in w.split("/")[:-1]):
        return []  # a.txt/b.txt: two names, not a path
    if "/" not in w:
        if ext not in BARE_EXT or w.startswith("."):
            return []
        return [w]
    if ext is None:
        # A directory (or extension-less file) counts only under a top-level directory.
        return [w] if first in repo.top and "." not in core.rsplit("/", 1)[-1] else []
    if ext.startswith("{"):
        stem = w[:w.rfind(".{")]
        return [stem + "." + e for e in ext[1:-1].split(",")]
    if ext not in PATH_EXT and first not in repo.top:
        return []
    return [w]


def made_here(name, code):
    """True when the citing file's own code (not its comments) names the file: one it writes or
    reads itself (a helper script a test writes from a heredoc, an output file), not a
    reference to the repository."""
    return re.search(r"(?<![\w.\-])" + re.escape(name) + r"(?![\w\-])", code) is not None


def check(root):
    every = tracked_files(root)
    repo = Repo(root, every)
    failures = []
    for path in sorted(f for f in every if not f.startswith(SKIP_PREFIXES)):
        full = os.path.join(root, path)
        try:
            with open(full, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        if path != "tests/docs/check_references.py":
            for no, l in enumerate(text.split("\n"), 1):
                for bad in ("../shared", "shared/docs"):
                    if bad in l:
                        failures.append(f"{path}:{no}: {bad} (notes outside the repository)")
        code = []
        comments = list(texts(path, text, code))
        code = "".join(code)
        comments = [(no, re.sub(r"\w+://\S+", " ", l) if "://" in l else l) for no, l in comments]
        for k, (no, l) in enumerate(comments):
            # A section number or title may continue on the next comment line.
            nxt = comments[k + 1][1] if k + 1 < len(comments) and comments[k + 1][0] == no + 1 \
                else ""
            ahead = l + " " + nxt.strip()
            for m in WORD.finditer(l):
                word = m.group(1)
                if REDIRECT.search(l[:m.start()]):
                    continue
                for ref in candidates(word, repo):
                    if ref in ALLOW or made_here(os.path.basename(ref.rstrip("/")), code):
                        continue
                    target = repo.resolve(ref, path)
                    if target is None:
                        failures.append(f"{path}:{no}: {ref} (no such file in the repository)")
                        continue
                    if target.endswith(".md") and target in repo.files:
                        nums, titles = repo.sections(target)
                        s = SECTIONS.match(ahead, m.end())
                        if s and "§" in s.group(0):
                            for num in SECTION_NUM.findall(s.group(0)):
                                if num not in nums:
                                    failures.append(f"{path}:{no}: {ref} §{num} "
                                                    f"(no such numbered section)")
                        t = TITLE.match(ahead, m.end())
                        if t and not any(t.group(1).replace("`", "").lower() in h
                                         for h in titles):
                            failures.append(f'{path}:{no}: {ref} "{t.group(1)}" '
                                            f"(no heading with that title)")
    return failures


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "..")
    failures = check(os.path.abspath(root))
    for f in failures:
        print(f)
    if failures:
        print(f"check_references: {len(failures)} reference(s) to files or sections not in the "
              "repository", file=sys.stderr)
        return 1
    print("check_references: every file a comment or document names is in the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
