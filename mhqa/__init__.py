"""mhqa: retrieval-grounded mental-health psychoeducation Q&A over vetted guideline PDFs."""

__version__ = "0.1.0"
