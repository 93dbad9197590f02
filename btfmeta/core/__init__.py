"""CO-RE relocation with libbpf's decisions (relo_core.c), offline, as each libbpf profile
(btfmeta/profiles/libbpf.py) makes them."""
