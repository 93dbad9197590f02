"""Text and JSON views of BTF."""
