"""The Vivavoce application: the command line and the Qt desktop app (the only place Qt is imported)."""
