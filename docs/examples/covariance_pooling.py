"""A differentiable covariance-pooling layer in torch (iSQRT-COV style), one training step."""

import torch

import matsqrt


class CovPool(torch.nn.Module):
    """Features (batch, channels, positions) -> square root of their covariance, flattened."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=-1, keepdim=True)
        cov = x @ x.mT / x.shape[-1] + 1e-4 * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        return matsqrt.sqrtm(cov).flatten(1)


torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv1d(3, 8, 3), CovPool(), torch.nn.Linear(64, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 3, 50), torch.randint(0, 2, (16,))
loss0 = torch.nn.functional.cross_entropy(model(x), y)
loss0.backward()
opt.step()
loss1 = torch.nn.functional.cross_entropy(model(x), y)
grads = [p.grad for p in model.parameters()]
print(f"loss {loss0.item():.4f} -> {loss1.item():.4f}")
assert all(torch.isfinite(g).all() for g in grads) and loss1 < loss0
