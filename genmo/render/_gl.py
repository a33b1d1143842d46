"""Import pyrender for offscreen rendering: OSMesa by default, plus three compatibility shims.

- numpy 2 removed ``np.infty``, which pyrender still uses for mesh bounds.
- pyrender keys its shader cache by the current GL context object; under OSMesa every lookup
  returns a new pointer object that never compares equal, so shaders were recompiled (and
  leaked) on every frame. The shader module gets a context id that compares by address.
- pyrender pins PyOpenGL 3.1.0, whose OSMesa bindings lack what pyrender calls: see _osmesa_compat.
"""

from __future__ import annotations

import ctypes
import os
import types

import numpy as np

from genmo.errors import MissingExtraError

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
if not hasattr(np, "infty"):
    np.infty = np.inf

if os.environ["PYOPENGL_PLATFORM"] == "osmesa":
    try:
        from genmo.render import _osmesa_compat

        _osmesa_compat.ensure()
    except ModuleNotFoundError:
        pass  # no PyOpenGL: the import below names the missing extra

try:
    import OpenGL.contextdata  # noqa: E402
    import pyrender  # noqa: E402
    import pyrender.shader_program  # noqa: E402
    from OpenGL import GL  # noqa: E402
except ModuleNotFoundError as err:
    raise MissingExtraError(f"rendering needs the render extra (pip install 'genmo-studio[render]'): {err}",
                            name=err.name) from None


def _context_id() -> object:
    ctx = OpenGL.contextdata.getContext()
    try:
        return ctypes.cast(ctx, ctypes.c_void_p).value
    except (TypeError, ctypes.ArgumentError):
        return ctx


pyrender.shader_program.OpenGL = types.SimpleNamespace(contextdata=types.SimpleNamespace(getContext=_context_id))

__all__ = ["GL", "pyrender"]
