"""Every pytest run, `pytest` alone or `pytest --nbval-lax notebooks`, gets what `make test` sets.

The quick profile, fp32 (reproducible: 'auto' decides by a timing probe; `make variants` adds bf16), the
exercises filled in, and a non-interactive matplotlib, unless the caller set them;
and the variant of `make variants` (``NST_VARIANT``, see tests/variants.py), applied here and, through the
kernels' inherited environment, in every notebook kernel that `tools/variants.py` starts.
"""

import os

DEFAULTS = {"NST_PROFILE": "quick", "NST_PRECISION": "fp32", "NST_SOLUTIONS": "1", "MPLBACKEND": "Agg"}
for name, value in DEFAULTS.items():
    os.environ.setdefault(name, value)

from tests.variants import apply  # noqa: E402

apply(os.environ.get("NST_VARIANT", ""))
