"""mhqa: retrieval-grounded mental-health psychoeducation Q&A over vetted guideline PDFs."""

import os

# onnxruntime (seen in 1.31, on Linux) writes a device id and usage events for Microsoft's
# telemetry under ~/.cache/Microsoft unless this is set before it is imported. mhqa sends
# and keeps no telemetry; tests/test_chat.py checks that a session leaves HOME empty.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
