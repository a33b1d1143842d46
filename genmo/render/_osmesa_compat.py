"""Make PyOpenGL 3.1.0 (what pyrender 0.1.45 pins) able to run pyrender's OSMesa platform.

pyrender creates its context with ``OSMesaCreateContextAttribs`` (core profile 3.3), which PyOpenGL
added in 3.1.4, and PyOpenGL 3.1.0 cannot key its per-context storage by an OSMesa context
(``unhashable type``). ``ensure()`` adds the function, its constants and the pointer hash exactly
as later PyOpenGL releases define them; with a PyOpenGL that has them it changes nothing.
"""

from __future__ import annotations

import ctypes

# Constants of Mesa's GL/osmesa.h (the values later PyOpenGL releases define).
OSMESA_ATTRIBS = {
    "OSMESA_DEPTH_BITS": 0x30,
    "OSMESA_STENCIL_BITS": 0x31,
    "OSMESA_ACCUM_BITS": 0x32,
    "OSMESA_PROFILE": 0x33,
    "OSMESA_CORE_PROFILE": 0x34,
    "OSMESA_COMPAT_PROFILE": 0x35,
    "OSMESA_CONTEXT_MAJOR_VERSION": 0x36,
    "OSMESA_CONTEXT_MINOR_VERSION": 0x37,
}


def ensure() -> bool:
    """Patch ``OpenGL.osmesa`` when it lacks ``OSMesaCreateContextAttribs``; True when it patched."""
    import OpenGL.osmesa as osmesa

    if hasattr(osmesa, "OSMesaCreateContextAttribs"):
        return False
    from OpenGL import _opaque, arrays
    from OpenGL import platform as gl_platform
    from OpenGL.constant import Constant
    from OpenGL.raw.osmesa._types import OSMesaContext

    if "__hash__" not in vars(_opaque._opaque_pointer):
        # ctypes pointers are unhashable; contextdata keys its storage by the current context.
        _opaque._opaque_pointer.__hash__ = lambda self: ctypes.addressof(self.contents)
    for name, value in OSMESA_ATTRIBS.items():
        setattr(osmesa, name, Constant(name, value))

    @gl_platform.types(OSMesaContext, arrays.GLintArray, OSMesaContext)
    def OSMesaCreateContextAttribs(attribList, sharelist):  # noqa: N802 (the C name)
        """Create an OSMesa context from a zero-terminated attribute list."""

    osmesa.OSMesaCreateContextAttribs = gl_platform.createFunction(
        OSMesaCreateContextAttribs, gl_platform.PLATFORM.OSMesa, None, error_checker=None)
    return True
