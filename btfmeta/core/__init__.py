"""CO-RE relocation with libbpf 1.1.2's decisions (relo_core.c), offline."""
