"""compile vs clang-19: 500+ seeded generated headers, every named type equal in kind,
name, size, members (name, bit offset, bitfield size, resolved type), enum values and
signedness, array shape and qualifiers -- independent of type id numbering."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btfmeta import Spec
from btfmeta.btf import types as T
from btfmeta.btf.load import btf_bytes
from btfmeta.cfront.preprocess import BUILTIN_INCLUDE
from btfmeta.compile import compile_headers

from .btf_compare import diff_named
from .cgen import generate, use_source
from .conftest import REPO

SEEDS = range(520)
FIXTURE_DIR = Path(__file__).parent / "fixtures" / "compile"


def clang_btf(clang: str, header: Path, names: list[str], target: str = "bpf", workdir: Path | None = None) -> Spec:
    workdir = workdir or header.parent
    use = workdir / "use.c"
    use.write_text(use_source(str(header), names))
    obj = workdir / "use.o"
    # clang sees btfmeta's own <stdint.h>/<stddef.h>/<stdbool.h>, as btfmeta does
    proc = subprocess.run([clang, "-g", "-target", target, "-nostdinc", "-isystem", str(BUILTIN_INCLUDE),
                           "-c", str(use), "-o", str(obj)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"clang rejected the generated header:\n{proc.stderr}"
    return Spec.parse(btf_bytes(obj.read_bytes(), str(obj)))


def check_header(clang: str, header: Path, names: list[str], target: str = "bpf", workdir: Path | None = None) -> None:
    theirs = clang_btf(clang, header, names, target, workdir)
    ours = compile_headers([str(header)], target=target)
    assert ours.byteorder == theirs.byteorder
    problems = diff_named(theirs, ours)
    assert not problems, f"{header}:\n" + "\n".join(problems[:5])


@pytest.mark.parametrize("chunk", range(0, len(SEEDS), 40))
def test_generated_headers_match_clang(tmp_path, clang, chunk):
    for seed in SEEDS[chunk:chunk + 40]:
        gen = generate(seed)
        header = tmp_path / f"gen{seed}.h"
        header.write_text(gen.text)
        check_header(clang, header, gen.names, "bpfeb" if seed % 10 == 9 else "bpf")


@pytest.mark.parametrize("path", sorted(FIXTURE_DIR.glob("*.h")), ids=lambda p: p.name)
def test_fixture_headers_match_clang(tmp_path, clang, path):
    """Hand-written headers and generator seeds that once failed."""
    header = tmp_path / path.name
    header.write_text(path.read_text())
    names = [line.split("use:", 1)[1] for line in path.read_text().splitlines() if line.startswith("// use:")]
    names = [n for line in names for n in line.split(",") if n.strip()]
    check_header(clang, header, [n.strip() for n in names])


def _named_types(spec: Spec) -> list[str]:
    """C names for every struct, union, enum and typedef of ``spec`` (for use_source)."""
    return [t.name if isinstance(t, T.Typedef) else f"{'enum' if isinstance(t, T.EnumLike) else t.kind.name.lower()} "
            f"{t.name}" for _, t in spec if t.name and isinstance(t, (T.Struct, T.Union, T.EnumLike, T.Typedef))]


@pytest.mark.parametrize("name", ["mynic_metadata.h", "mynic_metadata_v2.h", "xdp_rx_meta.h"])
def test_samples_match_clang(tmp_path, clang, name):
    header = REPO / "samples" / name
    check_header(clang, header, _named_types(compile_headers([str(header)])), workdir=tmp_path)


UAPI = Path("/usr/include/linux")
# asm/ of the UAPI lives in the multiarch directory (x86_64-linux-gnu on the CI machines)
UAPI_DIRS = ["/usr/include", *sorted(str(p.parent) for p in Path("/usr/include").glob("*-linux-gnu*/asm"))[:1]]
UAPI_HEADERS = sorted(str(p.relative_to(UAPI)) for p in [*UAPI.glob("*.h"), *UAPI.glob("*/*.h")])


@pytest.mark.parametrize("chunk", range(0, max(len(UAPI_HEADERS), 1), 100))
def test_every_uapi_header_matches_clang(tmp_path, clang, chunk):
    """Each header under /usr/include/linux (and one level below) that clang-19 accepts
    alone compiles to BTF whose named types all equal clang's (about 690 headers)."""
    from .conftest import need

    need(bool(UAPI_HEADERS), "linux-libc-dev headers not installed")
    flags = ["-g", "-target", "bpf", *[f"-I{d}" for d in UAPI_DIRS[1:]]]
    checked = 0
    for name in UAPI_HEADERS[chunk:chunk + 100]:
        header = tmp_path / "uapi.h"
        header.write_text(f"#include <linux/types.h>\n#include <linux/{name}>\n")
        if subprocess.run([clang, *flags, "-fsyntax-only", str(header)], capture_output=True).returncode:
            continue  # not self-contained (or not for this target): clang refuses it too
        ours = compile_headers([str(header)], include_dirs=UAPI_DIRS)
        use = tmp_path / "use.c"
        use.write_text(use_source(str(header), _named_types(ours)))
        obj = tmp_path / "use.o"
        subprocess.run([clang, *flags, "-c", str(use), "-o", str(obj)], check=True, capture_output=True)
        theirs = Spec.parse(btf_bytes(obj.read_bytes(), str(obj)))
        problems = diff_named(theirs, ours)
        assert not problems, f"linux/{name}:\n" + "\n".join(problems[:5])
        checked += 1
    assert checked >= len(UAPI_HEADERS[chunk:chunk + 100]) // 2


def test_system_uapi_headers(tmp_path, clang):
    """Real kernel UAPI headers from /usr/include (linux/bpf.h, if_ether.h, ip.h, ipv6.h)."""
    from .conftest import need

    need(Path("/usr/include/linux/bpf.h").is_file(), "linux-libc-dev headers not installed")
    header = tmp_path / "sys.h"
    header.write_text("#include <linux/types.h>\n#include <linux/if_ether.h>\n#include <linux/ip.h>\n"
                      "#include <linux/ipv6.h>\n#include <linux/bpf.h>\n"
                      "struct meta { struct ethhdr eth; struct iphdr ip; __u64 ts; };\n")
    dirs = UAPI_DIRS
    ours = compile_headers([str(header)], include_dirs=dirs)
    use = tmp_path / "use.c"
    use.write_text(f'#include "{header}"\nstruct meta *a; struct xdp_md *b; union bpf_attr *c; '
                   "struct bpf_prog_info *d; struct ipv6hdr *e;\n")
    obj = tmp_path / "use.o"
    subprocess.run([clang, "-g", "-target", "bpf", *[f"-I{d}" for d in dirs[1:]], "-c", str(use), "-o", str(obj)],
                   check=True)
    theirs = Spec.parse(btf_bytes(obj.read_bytes(), str(obj)))
    assert not diff_named(theirs, ours)
    assert len(ours) > 300
