"""Bundled resources (default models, icons, a sample recording), found with importlib.resources."""
