// Browser entry point (filled in by the foundation issue).
