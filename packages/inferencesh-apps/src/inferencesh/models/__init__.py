"""App-facing models under the import path the platform's docs use (``inferencesh.models``)."""
