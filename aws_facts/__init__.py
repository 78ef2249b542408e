"""Facts of AWS that both the stacks and the local AWS rely on, each with the document it comes from."""
