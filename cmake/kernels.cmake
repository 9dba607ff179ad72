# Hand-written Highway kernel families (src/kernels/). Empty for now.
