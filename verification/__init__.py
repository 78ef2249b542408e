"""Post-deploy verification: prove the endpoint answers exactly as the local model does."""
