"""BPF objects: programs, ``.BTF.ext``, instructions, and which instructions can run."""
