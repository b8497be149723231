"""The benchmarks of the series (not part of the package): `make bench` or `nst bench`, from a checkout."""
