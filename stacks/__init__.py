"""Stack configuration model, the composition of the program, and the offline preview."""
