"""Fleet scale: which programs run on which kernels and NIC drivers, from BTF archives."""
