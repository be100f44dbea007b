"""Products (schemas, validity rules, pricers), their market inputs and the numba kernels."""
