"""A local AWS for kmeans-byom: moto as control plane, our k-means runtime as data plane."""
