"""Shampoo-style preconditioned steps in torch: W <- W - lr L^(-1/4) G R^(-1/4).

Shampoo (Gupta, Koren & Singer 2018) keeps, for a weight matrix W, the statistics
L = sum G G^T and R = sum G^T G of its gradients G (plus a small ridge) and steps
along L^(-1/4) G R^(-1/4). The ridge bounds the statistics' condition number by 1e4, where
the default Padé [5/5] is 20-30% off (and warns); ``tol=1e-3`` (a preconditioner needs no more) computes the roots by
Zolotarev's certified method instead, without an eigendecomposition. The roots of many
layers' statistics batch into one call.
"""

import torch

import matsqrt

torch.manual_seed(0)
d_in, d_out, n = 32, 16, 512
# a badly scaled least-squares problem: min_W ||X W - Y||^2 / n
X = torch.randn(n, d_in, dtype=torch.float64) * torch.logspace(0, -2, d_in, dtype=torch.float64)
Y = X @ torch.randn(d_in, d_out, dtype=torch.float64)


def loss(W):
    return ((X @ W - Y) ** 2).sum() / n


def ridge(S, rel=1e-4):
    """S + rel * ||S||_2 I: bounds the condition number of the statistic by 1/rel."""
    norm = torch.linalg.matrix_norm(S, 2)[..., None, None]
    return S + rel * norm * torch.eye(S.shape[-1], dtype=S.dtype, device=S.device)


def train(steps, lr, precondition):
    W = torch.zeros(d_in, d_out, dtype=torch.float64, requires_grad=True)
    L = torch.zeros(d_in, d_in, dtype=torch.float64)
    R = torch.zeros(d_out, d_out, dtype=torch.float64)
    for _ in range(steps):
        (G,) = torch.autograd.grad(loss(W), W)
        with torch.no_grad():
            if precondition:
                L += G @ G.T
                R += G.T @ G
                G = matsqrt.powm(ridge(L), -0.25, tol=1e-3) @ G @ matsqrt.powm(ridge(R), -0.25, tol=1e-3)
            W -= lr * G
    return loss(W).item()


plain = train(200, lr=0.3, precondition=False)  # lr = 1 diverges
shampoo = train(200, lr=3.0, precondition=True)
print(f"loss after 200 steps: gradient descent {plain:.2e}, Shampoo {shampoo:.2e}")
assert shampoo < 0.1 * plain

# how accurate the preconditioner is, against an eigendecomposition (a batch of 4 statistics)
S = torch.randn(4, 64, 128, dtype=torch.float64)
L = ridge(S @ S.mT / 128)
w, V = torch.linalg.eigh(L)
exact = V @ torch.diag_embed(w**-0.25) @ V.mT
for kw in ({}, {"tol": 1e-8}):
    err = torch.linalg.norm(matsqrt.powm(L, -0.25, **kw) - exact) / torch.linalg.norm(exact)
    print(f"powm(L, -1/4, {kw}) vs eigh: relative error {err:.1e}")
    assert err < (1e-2 if not kw else 1e-8)
# and it is differentiable, e.g. to learn through a preconditioned step
L32 = L.float().requires_grad_(True)
matsqrt.powm(L32, -0.25).sum().backward()
assert bool(torch.isfinite(L32.grad).all())
