"""mhqa inside other frameworks. Each module needs its framework (an optional extra); none is imported by the CLI."""
