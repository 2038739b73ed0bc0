"""`open_image`: read a kernel file into layers the way its loaders see it.

file ─┬─ ELF32/ELF64                       (vmlinux, xen-syms, GRUB-for-Xen)
      ├─ gzip ── ELF / flat                (xen.gz, gnumach.gz: one gzip layer)
      ├─ bzImage setup ── payload (codec) ── ELF   (vmlinuz)
      ├─ PE/EFI executable                 (xen.efi, grubx64.efi, ipxe.efi, systemd-stub)
      │    └─ UKI: .linux section ── bzImage setup ── payload ── ELF
      └─ flat binary with a multiboot header (a.out kludge) or libxenguest's binary table

The payload of a bzImage is decoded only as far as the readers ask, unless
`full=True` (inspect) asks for everything, sections and size checks included.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable

from .blob import Blob, BytesBlob, read_file
from .bzimage import check_crc_before_signing, looks_like_bzimage, read_setup
from .codecs import (
    DEFAULT_MAX_OUTPUT,
    UNCOMPRESSED,
    DecodedStream,
    detect_codec,
)
from .codecs.gzip import GUNZIP_SLACK, GZIO_LOOK_AHEAD, grub_gzio_end
from .codecs.gzip import MAGIC as GZIP_MAGIC
from .codecs.xz import grub_xzio_size
from .codecs.xz import uncompressed_size as xz_uncompressed_size
from .elf import ELF_MAGIC, read_elf
from .errors import FormatError, ImageError
from .model import (
    PT_LOAD,
    UKI_KERNEL_SECTION,
    ElfInfo,
    EntryPoint,
    Image,
    Layer,
    MultibootHeader,
    Note,
    Problem,
    ProblemCode,
)
from .multiboot import MULTIBOOT, Mb2Tag, scan_multiboot
from .pe import read_pe, read_sections
from .xenbin import find_bin_table
from .xennotes import NOTE_NUMBERS

# Whole-file streams GRUB opens through a filter (xzio, lzopio) and Xen does not unwrap.
GRUB_ONLY_WRAPPERS = ("xz", "lzo")
SCAN_LIMIT = 1 << 20
# A compressed stream up to this size is decoded to its end even when the notes came
# early: a few ms, and Xen's verdict depends on the tail (it decodes it all). A bigger
# payload is too, unless it is xz, whose index states the decoded size.
COMPLETE_BELOW = 1 << 20

# The entry points a Multiboot 2 header's tags give (EntryPoint.kind).
MB2_ENTRY_KINDS = {
    Mb2Tag.ENTRY_ADDRESS: "multiboot2",
    Mb2Tag.ENTRY_ADDRESS_EFI32: "multiboot2_efi32",
    Mb2Tag.ENTRY_ADDRESS_EFI64: "multiboot2_efi64",
}


def open_image(
    path: str | os.PathLike[str],
    *,
    full: bool = False,
    max_output: int | None = None,
    lenient: bool = False,
) -> Image:
    """Open one kernel image; raises ImageError (one line, naming the file) on bad input.

    `lenient`: a bzImage payload that does not decompress is recorded as a
    `payload-corrupt` problem instead (its setup header still boots in QEMU and
    GRUB; `check` wants their verdicts). `max_output` caps each decompressed layer
    (a payload past it is `payload-corrupt`, or bad input for a gzip file); None
    means 512 MiB. The caller resolves $PVHLINT_MAX_DECOMPRESSED and the configuration
    (pvhlint.config.resolve_max_output; `pvhlint.open_image` does)."""
    name = os.fspath(path)
    cap = DEFAULT_MAX_OUTPUT if max_output is None else max_output
    data = _read_file(name)
    try:
        return _Opener(name, data, full, cap, lenient).build()
    except FormatError as exc:
        raise ImageError(name, str(exc)) from None


def open_image_bytes(data: bytes, name: str, *, full: bool = False,
                     max_output: int | None = None, lenient: bool = False) -> Image:  # fmt: skip
    """Open an image held in memory (`name` labels it in messages), e.g. a planned rewrite."""
    cap = DEFAULT_MAX_OUTPUT if max_output is None else max_output
    if not data:
        raise ImageError(name, "empty file")
    try:
        return _Opener(name, data, full, cap, lenient).build()
    except FormatError as exc:
        raise ImageError(name, str(exc)) from None


def _read_file(path: str) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ImageError(path, "is a directory, not a kernel image")
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(path, "is not a regular file")
        if info.st_size == 0:
            raise ImageError(path, "empty file")
        return read_file(path)
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None


class _Opener:
    def __init__(self, path: str, data: bytes | memoryview, full: bool, max_output: int,
                 lenient: bool = False) -> None:  # fmt: skip
        self.data = data
        self.full = full
        self.lenient = lenient
        self.max_output = max_output
        self.file = BytesBlob(data)
        self.image = Image(path, "unknown", len(data), [])
        self.streams: dict[int, DecodedStream] = {}
        self.image.blobs[0] = self.file

    def build(self) -> Image:
        head = self.file.read(0, 0x400)
        self.image.setup_sects_byte = head[0x1F1] if len(head) > 0x1F1 else None
        self._add_layer("file", "unknown", None, 0, len(self.data))
        wrapper = detect_codec(bytes(head[:9]))
        if wrapper == "gzip":
            self._gzip()
        elif wrapper in GRUB_ONLY_WRAPPERS and self._grub_wrapper(wrapper):
            pass
        else:
            self._kernel_or_raw(head)
        self.image.format = self.image.layers[0].format
        self._entry_points()
        return self.image

    def _add_layer(self, kind: str, fmt: str, parent: int | None, offset: int, size: int) -> Layer:
        layer = Layer(len(self.image.layers), kind, fmt, parent, offset, size)
        self.image.layers.append(layer)
        return layer

    def _problem(
        self, code: ProblemCode, message: str, layer: int, offset: int | None = None
    ) -> None:
        self.image.problems.append(Problem(code, message, layer, offset))

    def _kernel_or_raw(self, head: bytes) -> None:
        """The file as a kernel; else, for `check` (lenient), as raw bytes: QEMU loads any
        file without a header it knows as an old zImage, and the other loaders refuse it."""
        try:
            self._kernel(self.file, 0, head)
        except FormatError as exc:
            if not self.lenient or len(self.image.layers) > 1:
                raise
            if head.startswith(ELF_MAGIC) and self.image.elf is None:
                # The magic is there but not an ELF header to read: every loader refuses
                # it, QEMU in load_elf (rule elf-header-unreadable).
                self._problem(ProblemCode.ELF_HEADER_UNREADABLE, str(exc), 0, 0)
                self.image.layers[0].format = "raw"
            elif head.startswith(ELF_MAGIC):
                raise
            if self.image.layers[0].format == "unknown":
                self.image.layers[0].format = "raw"  # else, e.g. a setup header cut short

    def _grub_wrapper(self, codec: str) -> bool:
        """A whole-file xz or lzop stream: GRUB reads files through its xzio and lzopio
        filters (grub-file answers for the ELF inside), while Xen unwraps only gzip and QEMU
        takes the file as it is. False when the stream holds no kernel: then it is raw."""
        if codec == "xz" and grub_xzio_size(self.data) is None:
            return False  # xzio's footer test fails: GRUB reads the file as it is
        stream = DecodedStream(codec, self.data, self.max_output)
        head = stream.read(0, 0x400)
        if not head or stream.error:
            return False
        self._scan_multiboot(self.file, 0)  # what QEMU sees
        inner = self._add_layer(codec, "unknown", 0, 0, len(self.data))
        inner.codec = codec
        self.streams[inner.index] = self.image.blobs[inner.index] = stream
        try:
            self._kernel(stream, inner.index, head)
        except FormatError:
            del self.image.layers[inner.index :], self.image.blobs[inner.index]
            self.image.multiboot = []  # scanned again when the file is read as it is
            self.image.elf = self.image.setup = self.image.xen_bin_table = None
            return False
        self.image.layers[0].format = codec
        self._decoded(stream, inner.index, lambda: None)
        return True

    def _kernel(self, blob: Blob, layer: int, head: bytes) -> None:
        """ELF, bzImage, PE/EFI or flat multiboot binary in `layer`; multiboot is scanned in
        all (xen.efi carries multiboot headers, and QEMU and GRUB look for them first)."""
        self._scan_multiboot(blob, layer)
        if layer == 0 or self.image.layers[layer].kind == "gzip":  # libxenguest's kernel blob
            # xc_dom_try_gunzip's buffer is ISIZE + 16 bytes (xc_dom_check_gzip), zeroed
            zeros = GUNZIP_SLACK if self.image.layers[layer].kind == "gzip" else 0
            self.image.xen_bin_table = find_bin_table(blob, layer, zeros)
        if head.startswith(ELF_MAGIC):
            self._elf(blob, layer)
        elif looks_like_bzimage(head):
            self._bzimage(blob, layer)
        elif layer == 0 and self._pe(layer):
            return
        elif self._flat_multiboot(layer):
            self.image.layers[layer].format = "flat"
        else:
            raise FormatError(
                "unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with "
                "a multiboot header or Xen's binary-loader table "
                f"(starts with {bytes(head[:8]).hex(' ')})"
            )

    def _pe(self, layer: int) -> bool:
        """A PE/EFI executable; a Unified Kernel Image's `.linux` section becomes the layer
        the kernel is read from, as a bzImage payload is."""
        pe = read_pe(self.file, layer)
        if pe is None:
            return False
        self.image.pe = pe
        self.image.layers[layer].format = "pe"
        pe.section_table = read_sections(self.data)
        kernel = pe.section(UKI_KERNEL_SECTION)
        if kernel is None or not kernel.size:
            return True
        size = min(kernel.size, kernel.virtual_size or kernel.size, len(self.data) - kernel.offset)
        inner = self._add_layer(UKI_KERNEL_SECTION, "unknown", layer, kernel.offset, size)
        inner.decoded_size = inner.decoded_prefix = size
        blob = BytesBlob(self.file.read(kernel.offset, size))  # a copy: mmap slices can't find()
        self.image.blobs[inner.index] = blob
        try:
            self._kernel(blob, inner.index, blob.read(0, 0x400))
        except FormatError as exc:
            raise FormatError(f"in the UKI's {UKI_KERNEL_SECTION} section: {exc}") from None
        return True

    def _scan_multiboot(self, blob: Blob, layer: int) -> None:
        """The whole layer for `inspect`; otherwise the first MiB, far past every window
        and every "just outside" rule (a 66 MB vmlinux scans in 70 ms, this in 1)."""
        size = blob.known_size
        if size is None:
            size = blob.ensure(1 << 62 if self.full else SCAN_LIMIT)
        limit = size if self.full else min(size, SCAN_LIMIT)
        self.image.multiboot.extend(scan_multiboot(blob, layer, limit))

    def _flat_multiboot(self, layer: int) -> bool:
        # Any valid header counts, in the window or not: one just past 8 KiB is exactly
        # what a rule must be able to report. So does libxenguest's binary-loader table.
        table = self.image.xen_bin_table
        return (table is not None and table.layer == layer) or any(
            h.layer == layer and h.checksum_ok for h in self.image.multiboot)  # fmt: skip

    def _elf(self, blob: Blob, layer: int) -> None:
        # GRUB's multiboot loaders read the section headers (and load sections); a vmlinux
        # keeps them at its end, past what the notes need in a decoded payload.
        grub = any(header.layer == layer for header in self.image.multiboot)
        # QEMU's load_elf reads the file's symbol table (load_symbols): cheap in the file.
        info = read_elf(blob, layer, self.image.problems, self.full or grub or layer == 0)
        self.image.elf = info
        self.image.layers[layer].format = f"elf{info.elf_class}"

    def _gzip(self) -> None:
        self.image.layers[0].format = "gzip"
        self._scan_multiboot(self.file, 0)  # what QEMU sees: it does not unwrap gzip
        stream = DecodedStream("gzip", self.data, self.max_output)
        inner = self._add_layer("gzip", "unknown", 0, 0, len(self.data))
        inner.codec = "gzip"
        if len(self.data) >= 4:  # ISIZE: the size xc_dom_try_gunzip decodes to
            inner.size_trailer = struct.unpack("<I", self.file.read(len(self.data) - 4, 4))[0]
        self.streams[inner.index] = self.image.blobs[inner.index] = stream
        head = stream.read(0, 0x400)
        complete = len(self.data) <= COMPLETE_BELOW  # Xen inflates it all (see _decoded)
        try:
            if not head:
                raise FormatError(f"gzip layer cannot be decoded: {stream.error or 'empty'}")
            if head.startswith(GZIP_MAGIC):
                raise FormatError("gzip inside gzip: only one gzip layer is unwrapped (as Xen)")
            read = lambda: self._kernel(stream, inner.index, head)  # noqa: E731
            self._decoded(stream, inner.index, read, complete)
            inner.gzio_end = inner.decoded_size if not stream.error else self._gzio_end(inner)
        except FormatError as exc:
            if not self.lenient:
                raise
            # No kernel in it for any loader: Xen's xc_dom_try_gunzip fails or yields
            # bytes no loader probes as theirs, GRUB's gzio the same; QEMU never unwraps.
            if stream.error:
                self._problem(ProblemCode.PAYLOAD_CORRUPT, str(exc), inner.index, 0)
            else:
                self._problem(ProblemCode.GZIP_NO_KERNEL, str(exc), inner.index, 0)
            self.image.elf = self.image.setup = None
            inner.format = "raw"

    def _gzio_end(self, inner: Layer) -> int | None:
        """How far GRUB's gzio reads a damaged gzip file, looked for only as far as GRUB's
        commands read it (the search window; an ELF's headers, loaded segments and the
        sections it loads), GRUB's size (the last 4 bytes) and GZIO_LOOK_AHEAD."""
        ends = [MULTIBOOT[2].window]
        elf = self.image.elf
        if elf is not None and elf.layer == inner.index:
            ends.append(elf.phoff + elf.phnum * elf.phentsize)
            ends += [seg.offset + seg.filesz for seg in elf.segments
                     if seg.type == PT_LOAD and seg.filesz]  # fmt: skip
            ends.append(elf.shoff + elf.shnum * elf.shentsize)
            ends += [sec.offset + sec.size for sec in elf.sections or () if not sec.addr]
        bound = min(max(ends), inner.size_trailer or 0, GZIO_LOOK_AHEAD)
        end = grub_gzio_end(self.data, bound)
        return None if end is None or end >= bound else end

    def _decoded(
        self, stream: DecodedStream, layer: int, read: Callable[[], None], complete: bool = False
    ) -> None:
        """Run a reader on a decoded layer; a decode error it ran into is bad input.
        `complete`: decode to the end even when the reader stopped early (a small stream,
        whose tail Xen's verdict depends on: Xen decodes it all)."""
        try:
            read()
        except FormatError as exc:
            if stream.error and self.lenient and self.image.layers[layer].kind == "payload":
                self._problem(ProblemCode.PAYLOAD_CORRUPT, f"{stream.codec}: {stream.error}", layer)
                return
            if stream.error:
                raise FormatError(
                    f"{stream.codec} data cannot be decoded: {stream.error}"
                ) from None
            raise FormatError(f"in the {stream.codec} layer: {exc}") from None
        if self.full or complete:
            stream.read_all()
        info = self.image.layers[layer]
        info.decoded_size = stream.known_size
        info.decoded_prefix = stream.decoded_size
        if stream.error:
            self._problem(ProblemCode.PAYLOAD_CORRUPT, f"{stream.codec}: {stream.error}", layer)

    def _bzimage(self, blob: Blob, layer: int) -> None:
        """A bzImage in `layer`: its setup header, PE stub and payload are read from that
        layer's bytes (inside gzip, the decoded ones, never the compressed file)."""
        own = blob if isinstance(blob, BytesBlob) else BytesBlob(_whole(blob))
        data = own.data
        self.image.layers[layer].format = "bzimage"
        setup = read_setup(own, layer)
        self.image.setup = setup
        pe = read_pe(own, layer)
        if pe and pe.signed and setup.crc_stored is not None and not setup.crc_ok:
            setup.crc_ok_before_signing = check_crc_before_signing(own, setup, pe)
        if self.image.pe is None:  # a UKI keeps its own PE; the stub of its kernel is not it
            self.image.pe = pe
        if not setup.has_hdrs or setup.version < 0x208:
            return
        if "payload_length" not in setup.fields:
            raise FormatError(f"the setup header is cut short: the layer ends at {len(data):#x}")
        start = setup.pm_offset + setup.fields["payload_offset"]
        length = setup.fields["payload_length"]
        if start >= len(data):
            self._problem(
                ProblemCode.PAYLOAD_OFFSET_OVERFLOW, "payload_offset points past the file", layer
            )
        elif start + length > len(data):
            message = "payload runs past the end of the file"
            self._problem(ProblemCode.PAYLOAD_LENGTH_OVERFLOW, message, layer)
        elif length < 8:
            self._problem(
                ProblemCode.PAYLOAD_TOO_SHORT, f"payload_length {length} is too short", layer
            )
        else:
            self._payload(data, layer, start, length)

    def _payload(self, data: bytes | bytearray | memoryview, layer: int, start: int,
                 length: int) -> None:  # fmt: skip
        compressed = memoryview(data)[start : start + length]
        payload = self._add_layer("payload", "payload", layer, start, length)
        payload.codec = detect_codec(bytes(compressed[:9]))
        payload.size_trailer = struct.unpack("<I", compressed[-4:])[0]
        if payload.codec is None and bytes(compressed[:4]) == ELF_MAGIC:
            self._uncompressed(compressed, payload)
            return
        if payload.codec is None:
            message = f"unknown compression format (starts {bytes(compressed[:6]).hex(' ')})"
            self._problem(ProblemCode.UNKNOWN_CODEC, message, layer, start)
            return
        # The build appends the decompressed size; decoders get the stream without it (as Xen).
        body = compressed if payload.codec == "gzip" else compressed[:-4]
        stream = DecodedStream(payload.codec, body, self.max_output, keep_all=self.full)
        self.streams[payload.index] = self.image.blobs[payload.index] = stream
        read = lambda: self._payload_elf(stream, payload)  # noqa: E731
        # Xen decodes it all and compares with the trailer: an xz stream's index gives the
        # size without decoding; any other codec is decoded to its end.
        complete = payload.codec != "xz" or len(body) <= COMPLETE_BELOW
        self._decoded(stream, payload.index, read, complete)
        if payload.decoded_size is None and stream.error is None and payload.codec == "xz":
            payload.decoded_size = xz_uncompressed_size(body)  # the index says it: no decode
        if payload.decoded_size is not None and payload.decoded_size != payload.size_trailer:
            message = (
                f"decompressed size {payload.decoded_size} differs from the size trailer "
                f"{payload.size_trailer}"
            )
            self._problem(ProblemCode.SIZE_TRAILER_MISMATCH, message, layer, start + length - 4)

    def _uncompressed(self, payload_bytes: memoryview, payload: Layer) -> None:
        """The ELF itself as the payload, size trailer after it. Xen's bzImage probe fails on
        it ("unknown compression format") after pointing the kernel at the payload, so the
        ELF loader tried next parses exactly this (xg_dom_bzimageloader.c, verified)."""
        payload.codec = UNCOMPRESSED
        blob = BytesBlob(bytes(payload_bytes[:-4]))
        self.image.blobs[payload.index] = blob
        payload.decoded_size = payload.decoded_prefix = len(blob.data)
        self._elf(blob, payload.index)

    def _payload_elf(self, stream: DecodedStream, payload: Layer) -> None:
        head = stream.read(0, 16)
        if not head.startswith(ELF_MAGIC):
            if stream.error:
                raise FormatError(f"{stream.codec} payload cannot be decoded: {stream.error}")
            self._problem(ProblemCode.PAYLOAD_NOT_ELF, "the decompressed payload is not an ELF",
                          payload.index, 0)  # fmt: skip
            return
        self._elf(stream, payload.index)

    def _entry_points(self) -> None:
        image, elf = self.image, self.image.elf
        if elf:
            self._entry("e_entry", elf.layer, elf.entry, False, 24)
            for kind in ("ENTRY", "PHYS32_ENTRY"):
                for note in _used_notes(elf.notes_of_type(NOTE_NUMBERS[kind])):
                    if isinstance(note.value, int):
                        self._entry(kind, elf.layer, note.value, kind != "ENTRY", note.desc_offset)
        for header in image.multiboot:
            if header.in_window and header.aligned and header.checksum_ok:
                self._multiboot_entry(header)
        if image.setup and "code32_start" in image.setup.fields:
            code32, at = image.setup.fields["code32_start"], image.setup.layer
            self._entry("code32_start", at, code32, True, 0x214)
            handover = image.setup.fields.get("handover_offset")
            if handover:
                self._entry("efi_handover_32", at, code32 + handover, True, 0x264)
                self._entry("efi_handover_64", at, code32 + handover + 0x200, True, 0x264)

    def _multiboot_entry(self, header: MultibootHeader) -> None:
        elf = self.image.elf
        if header.version == 1 and "entry_addr" in header.fields:
            self._entry("multiboot1", header.layer, header.fields["entry_addr"], True,
                        header.offset + 28)  # fmt: skip
        elif header.version == 1 and elf and elf.layer == header.layer:
            self._entry("multiboot1", header.layer, _elf_physical_entry(elf), True, None)
        for tag in header.tags:
            kind = MB2_ENTRY_KINDS.get(tag.type)
            if kind is not None and "entry_addr" in tag.fields:
                self._entry(kind, header.layer, int(tag.fields["entry_addr"]), True, tag.offset + 8)

    def _entry(
        self, kind: str, layer: int, address: int, physical: bool, source: int | None
    ) -> None:
        point = EntryPoint(kind, layer, address, physical, source)
        elf = self.image.elf
        if elf and elf.layer == layer:
            point.segments_by_paddr = elf.segments_containing(address, physical=True)
            point.segments_by_vaddr = elf.segments_containing(address, physical=False)
        self.image.entry_points.append(point)


def _used_notes(notes: list[Note]) -> list[Note]:
    """The notes of one type the loaders use, for the entry-point list: the first (QEMU and
    rust-vmm take the first they meet in a note segment; see the xen-note-duplicate rule)
    and the last (Xen's libelf, elf_xen_parse_note, overwrites parms for each one). Not
    every one: 65536 entry notes over 65535 PT_LOADs were billions of segment lookups.
    Rules that judge an entry (xen-phys32-bounds) look it up themselves."""
    return notes[:1] + notes[-1:] if len(notes) > 1 else notes


def _whole(blob: Blob) -> bytes:
    """Every byte of a decoded layer (up to the decompression cap)."""
    return blob.read(0, blob.ensure(1 << 62))


def _elf_physical_entry(elf: ElfInfo) -> int:
    """e_entry as a multiboot loader jumps to it: through the PT_LOAD holding it by vaddr."""
    for seg in elf.segments:
        if seg.loadable and seg.vaddr <= elf.entry < seg.vaddr + seg.memsz:
            return elf.entry - seg.vaddr + seg.paddr
    return elf.entry


__all__ = ["open_image", "open_image_bytes"]
