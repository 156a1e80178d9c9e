"""Put the checkout on ``sys.path`` so bench scripts can use the test stand-ins in ``tests/support``.

The scripts run as ``python bench/NAME.py``, which puts only ``bench/`` on the path; the stand-ins are
development tools, deliberately not part of the installed package.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
