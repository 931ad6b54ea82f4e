"""Schemathesis hooks for scripts/fuzz-registry.sh: bodies for the registry's
binary media types, which schemathesis cannot make from `format: binary`.

Sealed boxes and pages are random bytes, or a key-tagged box (`KSK2`, an
8-byte key id, random bytes); bundles are random bytes, or `KSB1` with
index/length-framed parts whose lengths may lie. None of them opens with the
registry's key, so every one must be refused with a 4xx, never a 5xx.
"""

import struct

import schemathesis
from hypothesis import strategies as st


def _tagged_box():
    return st.builds(
        lambda key_id, rest: b"KSK2" + key_id + rest,
        st.binary(min_size=8, max_size=8),
        st.binary(max_size=256),
    )


def _part(index, data, lie):
    length = len(data) + lie if len(data) + lie >= 0 else 0
    return struct.pack(">II", index, length) + data


def _bundle():
    part = st.builds(
        _part,
        st.integers(min_value=0, max_value=60) | st.integers(min_value=0, max_value=2**32 - 1),
        st.one_of(st.binary(max_size=128), _tagged_box()),
        st.sampled_from([0, 0, 0, -1, 1, 1000]),
    )
    return st.builds(lambda parts: b"KSB1" + b"".join(parts), st.lists(part, max_size=8))


_box = st.one_of(st.binary(max_size=512), _tagged_box())

schemathesis.openapi.media_type("application/vnd.kiosk.sealed-registration", _box)
schemathesis.openapi.media_type("application/vnd.kiosk.sealed-page", _box)
schemathesis.openapi.media_type(
    "application/vnd.kiosk.sealed-bundle", st.one_of(st.binary(max_size=512), _bundle())
)
