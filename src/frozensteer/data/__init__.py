"""Data: environments, behaviour policies and the datasets built from them."""
