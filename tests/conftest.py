import torch

# Small networks: one thread is fastest, and it leaves the other core to the environments.
torch.set_num_threads(1)
