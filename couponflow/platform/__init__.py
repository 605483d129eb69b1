"""The platform: settings, object stores, manifests, the lake's layout, sources, landing and the
warehouse. It imports nothing of couponflow above it (import-linter enforces it)."""
